/**
 * Benchmark: inserts/s and indexed finds/s through the real driver at 10^3 and 10^6 stored documents.
 * Run: npm run bench -w @cohort/mongo-embedded   (node --conditions=source --import tsx bench/store.bench.ts)
 * BENCH_LARGE=100000 for a quicker run.
 *
 * Two databases live side by side in one store: `small` (10^3 messages) and `large` (10^6 messages,
 * loaded through the in-process bulk path: Collection.insert, the code the insert command runs, minus
 * the wire). Every measured operation goes through the driver. Rounds alternate between the two sizes
 * and the best round of each is kept, so CPU noise from other processes hits both sides alike.
 */
import { performance } from 'node:perf_hooks';
import { type Collection as DriverCollection, type Db, MongoClient, ObjectId } from 'mongodb';
import { startEmbeddedMongo } from '../src/index';
import type { Store } from '../src/engine/store';

// Few chats, so each chat's history grows with the collection: paging must not slow down with it.
const CHATS = 10;
const SMALL = 1_000;
const LARGE = Number(process.env.BENCH_LARGE ?? 1_000_000);
const ROUNDS = 5;
const OPS = 1000;
const PAGE = 50;

const chatIds = Array.from({ length: CHATS }, () => new ObjectId());

function message(n: number): {
  chatId: ObjectId;
  seq: number;
  authorId: ObjectId;
  text: string;
  createdAt: Date;
} {
  return {
    chatId: chatIds[n % CHATS] as ObjectId,
    seq: Math.floor(n / CHATS) + 1,
    authorId: chatIds[(n * 7) % CHATS] as ObjectId,
    text: `message number ${n} with a little text in it`,
    createdAt: new Date(1_700_000_000_000 + n * 1000),
  };
}

async function rate(count: number, op: (i: number) => Promise<unknown>, parallel = 1): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

interface Side {
  label: string;
  size: number;
  messages: DriverCollection;
  users: DriverCollection;
  userCount: number;
  nextN: number;
}

type Measure = (side: Side) => Promise<number>;

const measures: Array<[string, Measure]> = [
  [`page find (${PAGE}, indexed) /s`, (s) => rate(OPS, (i) => pageFind(s, i))],
  [`page find, 8 in flight /s`, (s) => rate(OPS, (i) => pageFind(s, i), 8)],
  [
    'unique email findOne /s',
    (s) => rate(OPS, (i) => s.users.findOne({ email: `user${(i * 7919) % s.userCount}@example.com` })),
  ],
  [
    // The bookkeeping shape (a chat's lastSeq, a read marker): found by a unique index, no indexed field changes.
    'updateOne $max, unindexed /s',
    (s) =>
      rate(OPS, (i) =>
        s.messages.updateOne(
          { chatId: chatIds[i % CHATS], seq: 1 + ((i * 7919) % Math.floor(s.size / CHATS)) },
          { $max: { readUpTo: i } },
        ),
      ),
  ],
  [
    'insertOne (sequential) /s',
    async (s) => {
      const r = await rate(500, () => s.messages.insertOne(message(s.nextN++)));
      await removeInserted(s);
      return r;
    },
  ],
  [
    'insertMany(1000) docs/s',
    async (s) => {
      const r =
        (await rate(2, () => s.messages.insertMany(Array.from({ length: 1000 }, () => message(s.nextN++))))) *
        1000;
      await removeInserted(s);
      return r;
    },
  ],
];

/** Deletes what an insert round added (through the index), so both sides keep their size. */
async function removeInserted(s: Side): Promise<void> {
  await s.messages.deleteMany({ chatId: { $in: chatIds }, seq: { $gt: Math.floor(s.size / CHATS) } });
  s.nextN = s.size;
}

function pageFind(s: Side, i: number): Promise<unknown> {
  const perChat = Math.floor(s.size / CHATS);
  return s.messages
    .find({ chatId: chatIds[(i * 3) % CHATS], seq: { $gt: (i * 7919) % Math.max(1, perChat - PAGE) } })
    .sort({ seq: 1 })
    .limit(PAGE)
    .toArray();
}

async function prepare(db: Db, store: Store, size: number, label: string): Promise<Side> {
  const messages = db.collection('messages');
  const users = db.collection('users');
  await messages.createIndex({ chatId: 1, seq: 1 }, { unique: true });
  await users.createIndex({ email: 1 }, { unique: true });
  const userCount = Math.max(SMALL, size / 10);
  const msgColl = store.collection(db.databaseName, 'messages');
  const userColl = store.collection(db.databaseName, 'users');
  if (!msgColl || !userColl) throw new Error('collections missing');
  for (let n = 0; n < size; n++) msgColl.insert({ _id: new ObjectId(), ...message(n) });
  for (let i = 0; i < userCount; i++)
    userColl.insert({ _id: new ObjectId(), email: `user${i}@example.com`, name: `User ${i}` });
  return { label, size, messages, users, userCount, nextN: size };
}

/**
 * CPU per in-place update in the engine (no wire): a chat-shaped document (a multikey `memberIds` index, a unique
 * sparse `directKey`) whose `lastSeq` changes, as chat-api's bookkeeping does once per stored message.
 * Median and range over 6 rounds of 20,000 updates after a warm-up round.
 */
async function replaceCost(db: Db, store: Store): Promise<{ median: number; min: number; max: number }> {
  const chats = db.collection('chats');
  await chats.createIndex({ memberIds: 1 });
  await chats.createIndex({ directKey: 1 }, { unique: true, sparse: true });
  const coll = store.collection(db.databaseName, 'chats');
  if (!coll) throw new Error('collection missing');
  const count = 20_000;
  const rids = Array.from({ length: count }, (_, i) =>
    coll.insert({
      _id: new ObjectId(),
      memberIds: [new ObjectId(), new ObjectId()],
      directKey: `k${i}`,
      lastSeq: 0,
    }),
  );
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.cpuUsage();
    for (let j = 0; j < count; j++) {
      const rid = rids[(j * 7919) % count] as number;
      const doc = coll.docs.get(rid);
      if (!doc) throw new Error('document missing');
      coll.replace(rid, { ...doc, lastSeq: (doc.lastSeq as number) + 1 });
    }
    const used = process.cpuUsage(start);
    if (round > 0) rounds.push((used.user + used.system) / count);
  }
  rounds.sort((a, b) => a - b);
  return { median: rounds[3] as number, min: rounds[0] as number, max: rounds[5] as number };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(12);
}

async function main(): Promise<void> {
  const server = await startEmbeddedMongo();
  const client = await new MongoClient(server.uri, { maxPoolSize: 16 }).connect();
  const store = server.internals.store;
  const loadStart = performance.now();
  const small = await prepare(client.db('small'), store, SMALL, SMALL.toLocaleString('en-US'));
  const large = await prepare(client.db('large'), store, LARGE, LARGE.toLocaleString('en-US'));
  const loadSecs = (performance.now() - loadStart) / 1000;

  const best = new Map<string, [number, number]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, measure] of measures) {
      const a = await measure(small);
      const b = await measure(large);
      if (round === 0) continue; // warm-up
      const [bestSmall, bestLarge] = best.get(name) ?? [0, 0];
      best.set(name, [Math.max(bestSmall, a), Math.max(bestLarge, b)]);
    }
  }

  const replace = await replaceCost(client.db('engine'), store);
  const mem = process.memoryUsage();
  const out: string[] = [
    `embedded mongo benchmark (node ${process.version}); messages {chatId, seq} unique in ${CHATS} chats, users {email} unique`,
    `best of ${ROUNDS} alternating rounds, through the driver on 127.0.0.1 (client in the same process)`,
    `${'operation'.padEnd(30)}${`${small.label} docs`.padStart(12)}${`${large.label} docs`.padStart(16)}  large/small`,
  ];
  for (const [name] of measures) {
    const [a, b] = best.get(name) ?? [0, 0];
    out.push(`${name.padEnd(30)}${fmt(a)}    ${fmt(b)}    ${(b / a).toFixed(2)}`);
  }
  out.push(
    `engine update, no indexed field changed (3 indexes, 1 multikey): ${replace.median.toFixed(1)} µs CPU ` +
      `(median of 6 rounds, ${replace.min.toFixed(1)}–${replace.max.toFixed(1)})`,
  );
  out.push(
    `in-process load of ${(SMALL + LARGE).toLocaleString('en-US')} messages + users: ${loadSecs.toFixed(1)} s; ` +
      `heap ${Math.round(mem.heapUsed / 2 ** 20)} MiB, rss ${Math.round(mem.rss / 2 ** 20)} MiB`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  await client.close();
  await server.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
