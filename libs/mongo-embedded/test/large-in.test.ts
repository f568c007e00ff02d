import { type Collection, type Document, MongoClient } from 'mongodb';
import { CLIENT_OPTIONS, openTestDb, type TestDb } from './helpers';

// Issue 20: above 512 `$in` values the planner used to drop the index bounds and scan the whole
// collection, so one user in thousands of chats turned every chat list into a collection scan.
// Large lists must stay point lookups: one seek per distinct value.

const DOCS = 50_000;
const CHATS = 5_000;
const PER_CHAT = DOCS / CHATS;

let db: TestDb;
let client: MongoClient;
interface Message {
  _id: number;
  chatId: number;
  seq: number;
  text: string;
}

let coll: Collection<Message>;
let all: Message[];

interface Explained {
  winningPlan: string;
  totalDocsExamined: number;
  totalKeysExamined: number;
  nReturned: number;
}

async function explain(cursor: { explain(v: 'executionStats'): Promise<Document> }): Promise<Explained> {
  const plan = await cursor.explain('executionStats');
  const stats = plan.executionStats as Document;
  return {
    winningPlan: JSON.stringify((plan.queryPlanner as Document).winningPlan),
    totalDocsExamined: stats.totalDocsExamined as number,
    totalKeysExamined: stats.totalKeysExamined as number,
    nReturned: stats.nReturned as number,
  };
}

/** A deterministic shuffle, with duplicates and values that match nothing mixed in. */
function scrambled(values: number[]): number[] {
  const out = [...values, ...values.slice(0, 100), -1, -2, CHATS + 7];
  let seed = 7;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

function ids(docs: readonly Message[]): string[] {
  return docs.map((d) => String(d._id)).sort();
}

beforeAll(async () => {
  db = await openTestDb('largein');
  client = await new MongoClient(db.url, CLIENT_OPTIONS).connect();
  coll = client.db(db.dbName).collection<Message>('messages');
  await coll.createIndex({ chatId: 1, seq: 1 }, { unique: true });
  all = Array.from({ length: DOCS }, (_, i) => ({
    _id: i,
    chatId: i % CHATS,
    seq: Math.floor(i / CHATS),
    text: i % 3 === 0 ? `fizz ${i}` : `buzz ${i}`,
  }));
  await coll.insertMany(all, { ordered: false });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await db?.close();
});

describe('large $in lists keep using the index', () => {
  const wanted = Array.from({ length: 4_000 }, (_, i) => i * 1.25).map(Math.floor);
  const wantedSet = new Set(wanted);

  it('answers 5,000 _id values with one seek each, never a collection scan', async () => {
    const values = scrambled(Array.from({ length: 5_000 }, (_, i) => i * 10));
    const valueSet = new Set(values);
    const expected = all.filter((d) => valueSet.has(d._id as number));
    const found = await coll.find({ _id: { $in: values } }).toArray();
    expect(ids(found)).toEqual(ids(expected));
    const s = await explain(coll.find({ _id: { $in: values } }));
    expect(s.winningPlan).toContain('IXSCAN');
    expect(s.winningPlan).not.toContain('COLLSCAN');
    expect(s.nReturned).toBe(expected.length);
    expect(s.totalDocsExamined).toBe(expected.length);
    expect(s.totalKeysExamined).toBeLessThanOrEqual(values.length + 10);
  });

  it('keeps the range on the next index field after a large $in', async () => {
    const filter = { chatId: { $in: scrambled(wanted) }, seq: { $gte: 7 } };
    const expected = all.filter((d) => wantedSet.has(d.chatId as number) && (d.seq as number) >= 7);
    expect(expected.length).toBe(wantedSet.size * (PER_CHAT - 7));
    const found = await coll.find(filter).toArray();
    expect(ids(found)).toEqual(ids(expected));
    const s = await explain(coll.find(filter));
    expect(s.winningPlan).toContain('chatId');
    expect(s.winningPlan).not.toContain('COLLSCAN');
    expect(s.totalDocsExamined).toBe(expected.length);
  });

  it('takes the sort from the index after a large $in, and stops at the limit', async () => {
    const filter = { chatId: { $in: scrambled(wanted) } };
    const cursor = () => coll.find(filter).sort({ chatId: 1, seq: 1 }).limit(25);
    const expected = all
      .filter((d) => wantedSet.has(d.chatId as number))
      .sort((a, b) => (a.chatId as number) - (b.chatId as number) || (a.seq as number) - (b.seq as number))
      .slice(0, 25);
    expect((await cursor().toArray()).map((d) => d._id)).toEqual(expected.map((d) => d._id));
    const s = await explain(cursor());
    expect(s.winningPlan).not.toContain('COLLSCAN');
    expect(s.winningPlan).not.toContain('"SORT"');
    expect(s.totalDocsExamined).toBeLessThanOrEqual(25);
  });

  it('matches the rest of the filter only on the documents the seeks found', async () => {
    const filter = { chatId: { $in: scrambled(wanted) }, text: /^fizz/ };
    const expected = all.filter(
      (d) => wantedSet.has(d.chatId as number) && String(d.text).startsWith('fizz'),
    );
    const found = await coll.find(filter).toArray();
    expect(ids(found)).toEqual(ids(expected));
    const s = await explain(coll.find(filter));
    expect(s.winningPlan).not.toContain('COLLSCAN');
    expect(s.totalDocsExamined).toBe(wantedSet.size * PER_CHAT);
  });

  it('counts and aggregates through the same seeks', async () => {
    const filter = { chatId: { $in: scrambled(wanted) } };
    expect(await coll.countDocuments(filter)).toBe(wantedSet.size * PER_CHAT);
    const s = await explain(coll.aggregate([{ $match: filter }, { $count: 'n' }]));
    expect(s.winningPlan).not.toContain('COLLSCAN');
  });
});
