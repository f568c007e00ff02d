import { startTestMongo, type TestMongo } from '@cohort/testkit';
import { type Connection, Schema } from 'mongoose';
import { connectMongo, DEFAULT_MAX_TIME_MS } from '../src/mongo';
import { createLogger } from '../src/logger';

// Issue 20 / docs/security.md: every product query is bounded in time. connectMongo gives every query,
// update, delete and aggregation of its models a maxTimeMS unless the call sets its own, so a
// runaway query fails with code 50 (on a real mongod and on the embedded store alike).

const logger = createLogger({ service: 'test', level: 'silent' });
const DOCS = 100_000;
/** Unindexed and matching nothing: the whole collection is read. */
const SLOW = { text: /words?\s+zzz$/ };

interface Note {
  n: number;
  text: string;
}
/** A schema per model: connection plugins add their hooks to the schema they compile. */
const noteSchema = (): Schema<Note> => new Schema<Note>({ n: Number, text: String });

let mongo: TestMongo;
const open: Connection[] = [];

async function connect(defaultMaxTimeMS?: number): Promise<Connection> {
  const conn = await connectMongo({ url: mongo.url, logger, defaultMaxTimeMS });
  open.push(conn);
  return conn;
}

beforeAll(async () => {
  mongo = await startTestMongo('maxtime');
  const conn = await connect(0);
  const coll = conn.collection('notes');
  for (let i = 0; i < DOCS; i += 50_000) {
    await coll.insertMany(
      Array.from({ length: 50_000 }, (_, j) => ({ n: i + j, text: `note ${i + j} with some words` })),
      { ordered: false },
    );
  }
}, 120_000);

afterAll(async () => {
  for (const conn of open) await conn.close();
  await mongo?.close();
});

describe('connectMongo bounds every query in time', () => {
  it('defaults to a 5 s limit', () => {
    expect(DEFAULT_MAX_TIME_MS).toBe(5_000);
  });

  it('fails slow reads, updates, deletes and aggregations with code 50 MaxTimeMSExpired', async () => {
    const Note = (await connect(2)).model<Note>('Note', noteSchema());
    const expired = { code: 50, codeName: 'MaxTimeMSExpired' };
    await expect(Note.find(SLOW).lean()).rejects.toMatchObject(expired);
    await expect(Note.findOne(SLOW).lean()).rejects.toMatchObject(expired);
    await expect(Note.countDocuments(SLOW)).rejects.toMatchObject(expired);
    await expect(Note.distinct('n', SLOW)).rejects.toMatchObject(expired);
    await expect(Note.aggregate([{ $match: SLOW }, { $count: 'n' }])).rejects.toMatchObject(expired);
    await expect(Note.findOneAndUpdate(SLOW, { $set: { n: -1 } })).rejects.toMatchObject(expired);
    await expect(Note.updateMany(SLOW, { $set: { n: -1 } })).rejects.toMatchObject(expired);
    await expect(Note.deleteMany(SLOW)).rejects.toMatchObject(expired);
  });

  it("keeps a call's own limit, and 0 on a call or on the connection means none", async () => {
    const Note = (await connect(2)).model<Note>('Note', noteSchema());
    expect(await Note.find(SLOW).maxTimeMS(0).lean()).toEqual([]);
    expect(await Note.countDocuments(SLOW).setOptions({ maxTimeMS: 60_000 })).toBe(0);
    expect(await Note.aggregate([{ $match: SLOW }]).option({ maxTimeMS: 60_000 })).toEqual([]);
    // The default (5 s) leaves ordinary queries alone.
    const Default = (await connect()).model<Note>('Note', noteSchema());
    expect(await Default.findOne({ n: 12 }).lean()).toMatchObject({ n: 12 });
    const Unbounded = (await connect(0)).model<Note>('Note', noteSchema());
    expect(await Unbounded.find(SLOW).lean()).toEqual([]);
  });
});
