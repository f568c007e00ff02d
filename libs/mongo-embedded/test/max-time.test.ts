import { type Collection, MongoClient, MongoServerError } from 'mongodb';
import { CLIENT_OPTIONS, embeddedOnly, openTestDb, type TestDb } from './helpers';

// Issue 20: every product query must be bounded in time. `maxTimeMS` has MongoDB's semantics: the
// command fails with code 50 MaxTimeMSExpired ("operation exceeded time limit") once the limit has
// passed, checked at interrupt points inside scans; and a long scan must not stall other connections
// (the store is single-threaded and runs inside `npm start`).

const DOCS = 200_000;
/** Unindexed and matching nothing: every document is examined. */
const SLOW = { text: /words?\s+zzz$/ };
const LIMIT_MS = 5;

let db: TestDb;
let client: MongoClient;
let other: MongoClient;
interface Message {
  _id: number;
  n: number;
  text: string;
  hit?: boolean;
  touched?: number;
}

let coll: Collection<Message>;

async function expectExpired(run: () => Promise<unknown>): Promise<void> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  expect(err).toMatchObject({ code: 50, codeName: 'MaxTimeMSExpired' });
  expect((err as Error).message).toContain('operation exceeded time limit');
}

beforeAll(async () => {
  db = await openTestDb('maxtime');
  client = await new MongoClient(db.url, CLIENT_OPTIONS).connect();
  other = await new MongoClient(db.url, CLIENT_OPTIONS).connect();
  coll = client.db(db.dbName).collection<Message>('messages');
  for (let i = 0; i < DOCS; i += 50_000) {
    await coll.insertMany(
      Array.from({ length: 50_000 }, (_, j) => ({
        _id: i + j,
        n: i + j,
        text: `message number ${i + j} with some words`,
      })),
      { ordered: false },
    );
  }
}, 120_000);

afterAll(async () => {
  await client?.close();
  await other?.close();
  await db?.close();
});

describe('maxTimeMS', () => {
  it('fails a find that outlives its limit with code 50, and the store keeps serving', async () => {
    await expectExpired(() => coll.find(SLOW).maxTimeMS(LIMIT_MS).toArray());
    expect(await other.db(db.dbName).collection<Message>('messages').findOne({ _id: 42 })).toMatchObject({
      n: 42,
    });
    expect(await coll.findOne({ _id: 43 })).toMatchObject({ n: 43 });
  });

  it('bounds count, aggregate and distinct the same way', async () => {
    const opts = { maxTimeMS: LIMIT_MS };
    await expectExpired(() => coll.countDocuments(SLOW, opts));
    await expectExpired(() => coll.aggregate([{ $match: SLOW }, { $count: 'n' }], opts).toArray());
    await expectExpired(() => coll.distinct('n', SLOW, opts));
    await expectExpired(() =>
      client.db(db.dbName).command({ count: 'messages', query: SLOW, maxTimeMS: LIMIT_MS }),
    );
  });

  it('bounds findAndModify, update and delete, which then change nothing', async () => {
    const opts = { maxTimeMS: LIMIT_MS };
    await expectExpired(() => coll.findOneAndUpdate(SLOW, { $set: { hit: true } }, opts));
    await expectExpired(() => coll.findOneAndDelete(SLOW, opts));
    await expectExpired(() => coll.updateMany({ ...SLOW, n: { $gte: 0 } }, { $set: { hit: true } }, opts));
    await expectExpired(() => coll.deleteMany(SLOW, opts));
    if (db.embedded) {
      // The embedded store fails a write before its first change (mongod may have applied some).
      expect(await coll.countDocuments({ hit: true })).toBe(0);
      expect(await coll.estimatedDocumentCount()).toBe(DOCS);
    }
  });

  it('runs the same commands to completion with no limit, a zero limit or a generous one', async () => {
    expect(await coll.find(SLOW).maxTimeMS(0).toArray()).toEqual([]);
    expect(await coll.countDocuments(SLOW, { maxTimeMS: 60_000 })).toBe(0);
    expect(await coll.find({ _id: 7 }).maxTimeMS(1_000).toArray()).toHaveLength(1);
    const res = await coll.updateOne({ _id: 8 }, { $set: { touched: 1 } }, { maxTimeMS: 1_000 });
    expect(res.modifiedCount).toBe(1);
  });

  embeddedOnly('refuses a negative maxTimeMS', async () => {
    const run = client.db(db.dbName).command({ find: 'messages', filter: {}, maxTimeMS: -1 });
    await expect(run).rejects.toMatchObject({ code: 51024 });
  });

  embeddedOnly('serves point lookups on other connections while a long scan runs', async () => {
    const lookups = other.db(db.dbName).collection<Message>('messages');
    const latencies: number[] = [];
    let scanning = true;
    const probe = (async () => {
      while (scanning) {
        const started = performance.now();
        await lookups.findOne({ _id: 1234 });
        latencies.push(performance.now() - started);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = latencies.length;
    const started = performance.now();
    // Several unindexed scans back to back, none limited: the lookups must interleave with them.
    for (let i = 0; i < 3; i++) expect(await coll.find(SLOW).toArray()).toEqual([]);
    const scanMs = performance.now() - started;
    scanning = false;
    await probe;
    const during = latencies.slice(before).sort((a, b) => a - b);
    // Before cooperative scans, one lookup waited for a whole scan (one lookup per scan at most).
    expect(during.length).toBeGreaterThan(6);
    expect(during[during.length - 1]).toBeLessThan(Math.max(60, scanMs / 6));
  });
});
