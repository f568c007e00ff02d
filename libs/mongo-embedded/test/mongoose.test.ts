import mongoose, { type Connection, Schema, Types } from 'mongoose';
import { CLIENT_OPTIONS, openTestDb, type TestDb } from './helpers';

interface User {
  email: string;
  name: string;
  age?: number;
  roles: string[];
  createdAt?: Date;
}
interface Counter {
  _id: string;
  seq: number;
}
interface Chat {
  title: string;
  memberIds: Types.ObjectId[];
}
interface Message {
  chatId: Types.ObjectId;
  seq: number;
  authorId: Types.ObjectId;
  text: string;
}

const userSchema = new Schema<User>(
  {
    email: { type: String, required: true, unique: true, lowercase: true, trim: true },
    name: { type: String, required: true, minlength: 2 },
    age: { type: Number, min: 0 },
    roles: { type: [String], default: [] },
  },
  { timestamps: true },
);
const counterSchema = new Schema<Counter>({ _id: String, seq: { type: Number, default: 0 } });
const chatSchema = new Schema<Chat>({
  title: String,
  memberIds: [{ type: Schema.Types.ObjectId, ref: 'User' }],
});
const messageSchema = new Schema<Message>(
  {
    chatId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
    authorId: { type: Schema.Types.ObjectId, ref: 'User', required: true },
    text: { type: String, required: true },
  },
  { timestamps: true },
);
// History paging: {chatId, seq > n} sorted by seq.
messageSchema.index({ chatId: 1, seq: 1 }, { unique: true });

let db: TestDb;
let conn: Connection;

beforeAll(async () => {
  db = await openTestDb('conformance');
  conn = await mongoose.createConnection(db.url, { ...CLIENT_OPTIONS, bufferCommands: false }).asPromise();
  for (const [name, schema] of [
    ['User', userSchema],
    ['Counter', counterSchema],
    ['Chat', chatSchema],
    ['Message', messageSchema],
  ] as const) {
    await conn.model(name, schema as Schema).init();
  }
});

afterAll(async () => {
  await conn?.close();
  await db?.close();
});

const Users = () => conn.model<User>('User');
const Counters = () => conn.model<Counter>('Counter');
const Chats = () => conn.model<Chat>('Chat');
const Messages = () => conn.model<Message>('Message');

describe('mongoose models', () => {
  it('creates, reads back and applies schema casting and timestamps', async () => {
    const created = await Users().create({ email: '  Ada@Example.COM ', name: 'Ada', age: 36 });
    const found = await Users().findById(created._id).lean();
    expect(found).toMatchObject({ email: 'ada@example.com', name: 'Ada', age: 36, roles: [] });
    expect(found?.createdAt).toBeInstanceOf(Date);
  });

  it('rejects documents failing validation before they reach the store', async () => {
    await expect(Users().create({ email: 'short@example.com', name: 'x' })).rejects.toThrow(
      /validation failed/,
    );
    expect(await Users().countDocuments({ email: 'short@example.com' })).toBe(0);
  });

  it('answers a duplicate unique email with error 11000 naming the key', async () => {
    await Users().create({ email: 'dup@example.com', name: 'First' });
    const err = await Users()
      .create({ email: 'dup@example.com', name: 'Second' })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; keyValue?: unknown; message: string },
      );
    expect(err?.code).toBe(11000);
    expect(err?.keyValue).toEqual({ email: 'dup@example.com' });
    expect(err?.message).toMatch(
      /E11000 duplicate key error collection: .*users index: email_1 dup key: \{ email: "dup@example.com" \}/,
    );
  });

  it('lets exactly one of two racing inserts of the same email win', async () => {
    const results = await Promise.allSettled([
      Users().create({ email: 'race@example.com', name: 'One' }),
      Users().create({ email: 'race@example.com', name: 'Two' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect((rejected?.reason as { code?: number }).code).toBe(11000);
    expect(await Users().countDocuments({ email: 'race@example.com' })).toBe(1);
  });

  it('reports 11000 from findOneAndUpdate when an update collides with a unique key', async () => {
    await Users().create([
      { email: 'keep@example.com', name: 'Keep' },
      { email: 'move@example.com', name: 'Move' },
    ]);
    await expect(
      Users().findOneAndUpdate({ email: 'move@example.com' }, { $set: { email: 'keep@example.com' } }),
    ).rejects.toMatchObject({ code: 11000 });
    await expect(
      Users().updateOne({ email: 'move@example.com' }, { $set: { email: 'keep@example.com' } }),
    ).rejects.toMatchObject({ code: 11000 });
    expect(await Users().countDocuments({ email: 'move@example.com' })).toBe(1);
  });

  it('inserts many unordered, reporting each duplicate and keeping the rest', async () => {
    await Users().create({ email: 'bulk-taken@example.com', name: 'Taken' });
    const docs = [
      { email: 'bulk1@example.com', name: 'B1' },
      { email: 'bulk-taken@example.com', name: 'B2' },
      { email: 'bulk3@example.com', name: 'B3' },
    ];
    const err = await Users()
      .insertMany(docs, { ordered: false })
      .then(
        () => undefined,
        (e: unknown) =>
          e as { code?: number; writeErrors?: Array<{ index: number }>; insertedDocs?: unknown[] },
      );
    expect(err?.code).toBe(11000);
    expect(err?.writeErrors?.map((w) => w.index)).toEqual([1]);
    expect(await Users().countDocuments({ email: { $in: ['bulk1@example.com', 'bulk3@example.com'] } })).toBe(
      2,
    );
  });

  it('stops an ordered insertMany at the first duplicate', async () => {
    const docs = [
      { email: 'ord1@example.com', name: 'O1' },
      { email: 'ord1@example.com', name: 'O2' },
      { email: 'ord3@example.com', name: 'O3' },
    ];
    await expect(Users().insertMany(docs, { ordered: true })).rejects.toMatchObject({ code: 11000 });
    expect(await Users().countDocuments({ email: /^ord/ })).toBe(1);
  });

  it('gives 1,000 concurrent findOneAndUpdate($inc) calls 1,000 distinct values', async () => {
    const calls = Array.from({ length: 1000 }, () =>
      Counters()
        .findOneAndUpdate(
          { _id: 'chat-seq' },
          { $inc: { seq: 1 } },
          { upsert: true, returnDocument: 'after' },
        )
        .lean(),
    );
    const values = (await Promise.all(calls)).map((d) => d?.seq);
    expect(new Set(values).size).toBe(1000);
    expect(Math.min(...(values as number[]))).toBe(1);
    expect(Math.max(...(values as number[]))).toBe(1000);
  });

  it('upserts with $setOnInsert seeded from the query equality fields', async () => {
    const q = { email: 'upsert@example.com' };
    const first = await Users()
      .findOneAndUpdate(
        q,
        { $set: { name: 'Up' }, $setOnInsert: { roles: ['new'] } },
        { upsert: true, returnDocument: 'after', setDefaultsOnInsert: true },
      )
      .lean();
    expect(first).toMatchObject({ email: 'upsert@example.com', name: 'Up', roles: ['new'] });
    const second = await Users()
      .findOneAndUpdate(
        q,
        { $set: { name: 'Again' }, $setOnInsert: { roles: ['ignored'] } },
        { upsert: true, returnDocument: 'after' },
      )
      .lean();
    expect(second).toMatchObject({ _id: first?._id, name: 'Again', roles: ['new'] });
  });

  it('saves array pushes and version increments through document.save()', async () => {
    const user = await Users().create({ email: 'save@example.com', name: 'Saver' });
    user.roles.push('admin', 'owner');
    await user.save();
    const again = await Users().findById(user._id).lean();
    expect(again?.roles).toEqual(['admin', 'owner']);
    expect((again as { __v?: number }).__v).toBe(1);
  });

  it('updates many with operators and reports matched and modified counts', async () => {
    await Users().create([
      { email: 'm1@multi.test', name: 'M1', age: 10 },
      { email: 'm2@multi.test', name: 'M2', age: 20 },
      { email: 'm3@multi.test', name: 'M3', age: 30 },
    ]);
    const res = await Users().updateMany(
      { email: /@multi\.test$/, age: { $gte: 20 } },
      { $inc: { age: 1 }, $addToSet: { roles: 'senior' } },
    );
    expect(res).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    const ages = (
      await Users()
        .find({ email: /@multi\.test$/ })
        .sort({ age: 1 })
        .lean()
    ).map((u) => u.age);
    expect(ages).toEqual([10, 21, 31]);
    const del = await Users().deleteMany({ email: /@multi\.test$/, age: { $gt: 25 } });
    expect(del.deletedCount).toBe(1);
  });

  it('populates references and distinct values', async () => {
    const [a, b] = await Users().create([
      { email: 'pop-a@example.com', name: 'PopA' },
      { email: 'pop-b@example.com', name: 'PopB' },
    ]);
    if (!a || !b) throw new Error('users not created');
    const chat = await Chats().create({ title: 'pop', memberIds: [a._id, b._id] });
    const populated = await Chats().findById(chat._id).populate<{ memberIds: User[] }>('memberIds').lean();
    expect(populated?.memberIds.map((m) => m.name).sort()).toEqual(['PopA', 'PopB']);
    const titles = await Chats().distinct('title');
    expect(titles).toContain('pop');
  });

  it('aggregates with $match $unwind $group $sort $lookup $project', async () => {
    const author = await Users().create({ email: 'agg@example.com', name: 'Agg' });
    const chatId = new Types.ObjectId();
    await Messages().insertMany(
      Array.from({ length: 6 }, (_, i) => ({
        chatId,
        seq: i + 1,
        authorId: author._id,
        text: i % 2 ? 'odd' : 'even',
      })),
    );
    const grouped = await Messages().aggregate<{ _id: string; n: number }>([
      { $match: { chatId } },
      { $group: { _id: '$text', n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ]);
    expect(grouped).toEqual([
      { _id: 'even', n: 3 },
      { _id: 'odd', n: 3 },
    ]);
    const joined = await Messages().aggregate<{ seq: number; author: { name: string } }>([
      { $match: { chatId, seq: { $lte: 2 } } },
      { $sort: { seq: -1 } },
      { $lookup: { from: 'users', localField: 'authorId', foreignField: '_id', as: 'author' } },
      { $unwind: '$author' },
      { $project: { _id: 0, seq: 1, 'author.name': 1 } },
    ]);
    expect(joined).toEqual([
      { seq: 2, author: { name: 'Agg' } },
      { seq: 1, author: { name: 'Agg' } },
    ]);
    expect(await Messages().countDocuments({ chatId })).toBe(6);
    expect(await Messages().countDocuments({ chatId, seq: { $gt: 4 } })).toBe(2);
  });

  it('pages through thousands of documents with a cursor, in order, without loss', async () => {
    const chatId = new Types.ObjectId();
    const authorId = new Types.ObjectId();
    const total = 3500;
    await Messages().insertMany(
      Array.from({ length: total }, (_, i) => ({ chatId, seq: i + 1, authorId, text: `m${i + 1}` })),
    );
    const seen: number[] = [];
    for await (const m of Messages().find({ chatId }).sort({ seq: 1 }).batchSize(250).lean().cursor())
      seen.push(m.seq);
    expect(seen).toHaveLength(total);
    expect(seen.every((s, i) => s === i + 1)).toBe(true);
    // Keyset paging the way a chat history does it.
    let after = 0;
    let pages = 0;
    for (;;) {
      const page = await Messages()
        .find({ chatId, seq: { $gt: after } })
        .sort({ seq: 1 })
        .limit(500)
        .lean();
      if (page.length === 0) break;
      expect(page[0]?.seq).toBe(after + 1);
      after = page[page.length - 1]?.seq as number;
      pages++;
    }
    expect([after, pages]).toEqual([total, 7]);
    const newest = await Messages().find({ chatId }).sort({ seq: -1 }).skip(10).limit(3).lean();
    expect(newest.map((m) => m.seq)).toEqual([total - 10, total - 11, total - 12]);
  });

  it('runs a transaction that commits, and one that aborts and leaves nothing behind', async () => {
    const session = await conn.startSession();
    try {
      await session.withTransaction(async () => {
        await Users().create([{ email: 'tx-commit@example.com', name: 'Commit' }], { session });
      });
      await expect(
        session.withTransaction(async () => {
          await Users().create([{ email: 'tx-abort@example.com', name: 'Abort' }], { session });
          await Users().updateOne(
            { email: 'tx-commit@example.com' },
            { $set: { name: 'Changed' } },
            { session },
          );
          throw new Error('rollback please');
        }),
      ).rejects.toThrow('rollback please');
    } finally {
      await session.endSession();
    }
    expect(await Users().countDocuments({ email: 'tx-abort@example.com' })).toBe(0);
    expect((await Users().findOne({ email: 'tx-commit@example.com' }).lean())?.name).toBe('Commit');
  });
});
