import { type Collection, type Db, type Document, MongoClient, ObjectId } from 'mongodb';
import { CLIENT_OPTIONS, embeddedOnly, openTestDb, type TestDb } from './helpers';

let db: TestDb;
let client: MongoClient;
let database: Db;
let messages: Collection;
const chats = Array.from({ length: 10 }, () => new ObjectId());
const PER_CHAT = 1000;

interface ExecutionStats {
  nReturned: number;
  totalDocsExamined: number;
}

async function stats(cursor: {
  explain(verbosity: 'executionStats'): Promise<Document>;
}): Promise<ExecutionStats> {
  const plan = await cursor.explain('executionStats');
  return plan.executionStats as ExecutionStats;
}

beforeAll(async () => {
  db = await openTestDb('indexes');
  client = await new MongoClient(db.url, CLIENT_OPTIONS).connect();
  database = client.db(db.dbName);
  messages = database.collection('messages');
  await messages.createIndex({ chatId: 1, seq: 1 }, { unique: true });
  await messages.createIndex({ chatId: 1, createdAt: -1 });
  const start = Date.UTC(2024, 0, 1);
  const docs = chats.flatMap((chatId, c) =>
    Array.from({ length: PER_CHAT }, (_, i) => ({
      chatId,
      seq: i + 1,
      createdAt: new Date(start + (i * 10 + c) * 1000),
      text: `c${c} m${i + 1}`,
    })),
  );
  await messages.insertMany(docs, { ordered: false });
  const users = database.collection('users');
  await users.createIndex({ email: 1 }, { unique: true });
  await users.insertMany(Array.from({ length: 2000 }, (_, i) => ({ email: `u${i}@example.com`, n: i })));
});

afterAll(async () => {
  await client?.close();
  await db?.close();
});

describe('index use', () => {
  it('pages a chat history by walking the {chatId, seq} index, examining only the page', async () => {
    const chatId = chats[3];
    const cursor = messages
      .find({ chatId, seq: { $gt: 400 } })
      .sort({ seq: 1 })
      .limit(50);
    const page = await cursor.toArray();
    expect(page.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 401 + i));
    expect(
      await stats(
        messages
          .find({ chatId, seq: { $gt: 400 } })
          .sort({ seq: 1 })
          .limit(50),
      ),
    ).toMatchObject({
      nReturned: 50,
      totalDocsExamined: 50,
    });
  });

  it('reads the newest messages by walking the index backwards', async () => {
    const chatId = chats[7];
    const newest = await messages.find({ chatId }).sort({ seq: -1 }).limit(20).toArray();
    expect(newest.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => PER_CHAT - i));
    const s = await stats(messages.find({ chatId }).sort({ seq: -1 }).limit(20));
    expect(s.totalDocsExamined).toBe(20);
  });

  it('serves a descending index in its own order', async () => {
    const chatId = chats[1];
    const s = await stats(
      messages
        .find({ chatId, createdAt: { $lt: new Date(Date.UTC(2024, 0, 2)) } })
        .sort({ createdAt: -1 })
        .limit(5),
    );
    expect(s).toMatchObject({ nReturned: 5, totalDocsExamined: 5 });
  });

  it('bounds a range on both sides', async () => {
    const chatId = chats[0];
    const cursor = () => messages.find({ chatId, seq: { $gte: 100, $lt: 110 } }).sort({ seq: 1 });
    expect((await cursor().toArray()).map((m) => m.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 100 + i),
    );
    expect((await stats(cursor())).totalDocsExamined).toBe(10);
  });

  it('finds a user by unique email looking at one document', async () => {
    const s = await stats(database.collection('users').find({ email: 'u1234@example.com' }));
    expect(s).toMatchObject({ nReturned: 1, totalDocsExamined: 1 });
  });

  it('looks up many _ids through the _id index', async () => {
    const some = await messages.find({ chatId: chats[2] }).limit(5).toArray();
    const s = await stats(messages.find({ _id: { $in: some.map((m) => m._id) } }));
    expect(s).toMatchObject({ nReturned: 5, totalDocsExamined: 5 });
  });

  it('answers an $or of (chatId, seq) points through one index scan per branch', async () => {
    const points = [
      { chatId: chats[0], seq: 10 },
      { chatId: chats[5], seq: 20 },
      { chatId: chats[8], seq: 999 },
    ];
    const found = await messages.find({ $or: points }).toArray();
    expect(found.map((m) => m.seq).sort((a, b) => a - b)).toEqual([10, 20, 999]);
    expect(await stats(messages.find({ $or: points }))).toMatchObject({ nReturned: 3, totalDocsExamined: 3 });
  });

  it('counts a chat through the index', async () => {
    expect(await messages.countDocuments({ chatId: chats[4], seq: { $gt: 900 } })).toBe(100);
  });

  it('scans the whole collection when no index applies (and still answers correctly)', async () => {
    const s = await stats(messages.find({ text: 'c5 m7' }));
    expect(s.nReturned).toBe(1);
    expect(s.totalDocsExamined).toBe(chats.length * PER_CHAT);
  });

  it('keeps the index consistent through updates and deletes', async () => {
    const chatId = chats[9];
    await messages.updateOne({ chatId, seq: 5 }, { $set: { seq: 5000 } });
    await messages.deleteOne({ chatId, seq: 6 });
    const seqs = (
      await messages
        .find({ chatId, seq: { $gte: 4, $lte: 7 } })
        .sort({ seq: 1 })
        .toArray()
    ).map((m) => m.seq);
    expect(seqs).toEqual([4, 7]);
    expect((await messages.findOne({ chatId, seq: 5000 }))?.text).toBe('c9 m5');
    expect(await messages.countDocuments({ chatId, seq: { $gt: PER_CHAT } })).toBe(1);
  });

  it('keeps every index right through updates that touch indexed fields and updates that do not', async () => {
    const cards = database.collection('cards');
    await cards.createIndex({ code: 1 }, { unique: true });
    await cards.createIndex({ tags: 1 });
    await cards.createIndex({ due: 1 }, { partialFilterExpression: { open: true } });
    await cards.insertMany([
      { code: 'a', tags: ['x', 'y'], open: true, due: 1, hits: 0 },
      { code: 'b', tags: ['y'], open: false, due: 2, hits: 0 },
    ]);
    // Unindexed fields only (the bookkeeping shape): every index still finds the document.
    for (let i = 0; i < 5; i++) await cards.updateOne({ code: 'a' }, { $inc: { hits: 1 } });
    await cards.updateOne({ code: 'a' }, { $max: { hits: 3 }, $set: { code: 'a', tags: ['x', 'y'] } });
    expect(await cards.findOne({ code: 'a' }, { projection: { _id: 0, hits: 1 } })).toEqual({ hits: 5 });
    expect((await cards.find({ tags: 'x' }).toArray()).map((c) => c.code)).toEqual(['a']);
    expect((await cards.find({ due: 1, open: true }).toArray()).map((c) => c.code)).toEqual(['a']);
    // A unique key moved onto another document's is refused and changes nothing.
    await expect(cards.updateOne({ code: 'b' }, { $set: { code: 'a', hits: 9 } })).rejects.toMatchObject({
      code: 11000,
    });
    expect(await cards.findOne({ code: 'b' }, { projection: { _id: 0, hits: 1 } })).toEqual({ hits: 0 });
    // …but a document may keep its own unique key while other fields change.
    await cards.updateOne({ code: 'b' }, { $set: { code: 'b', hits: 1 } });
    // Array entries and the partial index follow the fields they index.
    await cards.updateOne({ code: 'a' }, { $set: { tags: ['y', 'z'], open: false } });
    await cards.updateOne({ code: 'b' }, { $set: { open: true } });
    expect(await cards.countDocuments({ tags: 'x' })).toBe(0);
    expect((await cards.find({ tags: 'z' }).toArray()).map((c) => c.code)).toEqual(['a']);
    expect((await cards.find({ tags: 'y' }).sort({ code: 1 }).toArray()).map((c) => c.code)).toEqual([
      'a',
      'b',
    ]);
    expect((await cards.find({ due: { $gte: 1 }, open: true }).toArray()).map((c) => c.code)).toEqual(['b']);
    await cards.updateOne({ code: 'b' }, { $set: { code: 'c' } });
    expect(await cards.countDocuments({ code: 'b' })).toBe(0);
    await cards.insertOne({ code: 'b', tags: [], open: false, due: 3, hits: 0 });
    expect(await cards.countDocuments({ code: { $in: ['b', 'c'] } })).toBe(2);
  });

  embeddedOnly('joins with $lookup through the foreign collection index, not a scan of it', async () => {
    const users = database.collection('users');
    const authors = await users.find({}, { sort: { n: 1 }, limit: 3 }).toArray();
    const chatId = chats[6];
    await messages.updateMany({ chatId, seq: { $lte: 3 } }, [
      { $set: { authorId: { $arrayElemAt: [authors.map((a) => a._id), { $subtract: ['$seq', 1] }] } } },
    ]);
    const usersColl = db.embedded?.internals.store.collection(db.dbName, 'users');
    const before = usersColl?.docsExamined ?? 0;
    const joined = await messages
      .aggregate([
        { $match: { chatId, seq: { $lte: 3 } } },
        { $sort: { seq: 1 } },
        { $lookup: { from: 'users', localField: 'authorId', foreignField: '_id', as: 'author' } },
        { $project: { _id: 0, seq: 1, email: { $first: '$author.email' } } },
      ])
      .toArray();
    expect(joined).toEqual(authors.map((a, i) => ({ seq: i + 1, email: a.email })));
    expect((usersColl?.docsExamined ?? 0) - before).toBe(3);
  });

  embeddedOnly('expires documents through a TTL index when the sweeper runs', async () => {
    const sessions = database.collection('sessions');
    await sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
    await sessions.insertMany([
      { sid: 'old', expiresAt: new Date(Date.now() - 60_000) },
      { sid: 'new', expiresAt: new Date(Date.now() + 60_000) },
      { sid: 'none' },
    ]);
    db.embedded?.internals.server.sweep();
    expect((await sessions.find({}, { sort: { sid: 1 } }).toArray()).map((s) => s.sid)).toEqual([
      'new',
      'none',
    ]);
  });
});
