import { type Db, Long, MongoClient, MongoServerError } from 'mongodb';
import { CLIENT_OPTIONS, openTestDb, type TestDb } from './helpers';

let db: TestDb;
let client: MongoClient;
let database: Db;

beforeAll(async () => {
  db = await openTestDb('commands');
  client = await new MongoClient(db.url, CLIENT_OPTIONS).connect();
  database = client.db(db.dbName);
});

afterAll(async () => {
  await client?.close();
  await db?.close();
});

async function failure(p: Promise<unknown>): Promise<MongoServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof MongoServerError)) throw new Error(`expected a MongoServerError, got ${String(err)}`);
  return err;
}

describe('command errors in MongoDB shape', () => {
  it('answers an unknown command with CommandNotFound (59)', async () => {
    const err = await failure(database.command({ frobnicate: 1 }));
    expect(err.code).toBe(59);
    expect(err.codeName).toBe('CommandNotFound');
    expect(err.message).toMatch(/no such command: 'frobnicate'/);
  });

  it('answers an unknown query operator with BadValue (2)', async () => {
    await database.collection('errs').insertOne({ a: 1 });
    const err = await failure(
      database
        .collection('errs')
        .find({ a: { $frob: 1 } })
        .toArray(),
    );
    expect(err.code).toBe(2);
    expect(err.codeName).toBe('BadValue');
  });

  it('answers creating an existing collection with NamespaceExists (48)', async () => {
    await database.createCollection('twice');
    const err = await failure(database.createCollection('twice'));
    expect(err.code).toBe(48);
    expect(err.codeName).toBe('NamespaceExists');
  });

  it('answers listIndexes on a missing collection with NamespaceNotFound (26)', async () => {
    const err = await failure(database.collection('missing').listIndexes().toArray());
    expect(err.code).toBe(26);
    expect(err.codeName).toBe('NamespaceNotFound');
  });

  it('refuses an update that changes _id with ImmutableField (66)', async () => {
    const { insertedId } = await database.collection('immut').insertOne({ v: 1 });
    const err = await failure(
      database.collection('immut').updateOne({ _id: insertedId }, { $set: { _id: 'other' } }),
    );
    expect(err.code).toBe(66);
  });

  it('refuses conflicting update operators with code 40', async () => {
    await database.collection('conflict').insertOne({ a: 1 });
    const err = await failure(
      database.collection('conflict').updateOne({}, { $set: { a: 2 }, $inc: { a: 1 } }),
    );
    expect(err.code).toBe(40);
  });

  it('refuses operators that do not fit the stored value, as MongoDB does', async () => {
    const coll = database.collection('mismatch');
    const { insertedId } = await coll.insertOne({ s: 'text', n: 1 });
    const codeOf = async (update: object) =>
      (await failure(coll.updateOne({ _id: insertedId }, update))).code;
    expect(await codeOf({ $inc: { s: 1 } })).toBe(14);
    expect(await codeOf({ $inc: { n: 'one' } })).toBe(14);
    expect(await codeOf({ $push: { s: 'x' } })).toBe(2);
    expect(await codeOf({ $set: { 'n.deeper': 1 } })).toBe(28);
    expect(await coll.findOne({ _id: insertedId }, { projection: { _id: 0 } })).toEqual({ s: 'text', n: 1 });
  });

  it('reports a getMore on an unknown cursor as CursorNotFound (43)', async () => {
    const err = await failure(database.command({ getMore: Long.fromNumber(987654321), collection: 'errs' }));
    expect(err.code).toBe(43);
  });
});

describe('commands', () => {
  it('pings, and reports a server version through buildInfo', async () => {
    expect((await database.command({ ping: 1 })).ok).toBe(1);
    const info = await database.admin().command({ buildInfo: 1 });
    expect(typeof info.version).toBe('string');
  });

  it('creates, lists and drops indexes', async () => {
    const coll = database.collection('idx');
    await coll.createIndex({ a: 1, b: -1 }, { unique: true, name: 'a_b' });
    await coll.createIndex({ c: 1 }, { sparse: true });
    const names = (await coll.listIndexes().toArray()).map((i) => i.name).sort();
    expect(names).toEqual(['_id_', 'a_b', 'c_1']);
    await coll.dropIndex('a_b');
    expect((await coll.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(['_id_', 'c_1']);
  });

  it('enforces compound unique indexes on the whole key only', async () => {
    const coll = database.collection('compound');
    await coll.createIndex({ chatId: 1, userId: 1 }, { unique: true });
    await coll.insertMany([
      { chatId: 1, userId: 1 },
      { chatId: 1, userId: 2 },
      { chatId: 2, userId: 1 },
    ]);
    const err = await failure(coll.insertOne({ chatId: 1, userId: 2 }));
    expect(err.code).toBe(11000);
    expect(err.errorResponse.keyPattern).toEqual({ chatId: 1, userId: 1 });
    expect(err.errorResponse.keyValue).toEqual({ chatId: 1, userId: 2 });
  });

  it('refuses to build a unique index over existing duplicates', async () => {
    const coll = database.collection('prebuilt');
    await coll.insertMany([{ k: 1 }, { k: 1 }]);
    const err = await failure(coll.createIndex({ k: 1 }, { unique: true }));
    expect(err.code).toBe(11000);
  });

  it('lets a sparse unique index hold many documents without the field', async () => {
    const coll = database.collection('sparse');
    await coll.createIndex({ handle: 1 }, { unique: true, sparse: true });
    await coll.insertMany([{ n: 1 }, { n: 2 }, { handle: 'x' }]);
    expect((await failure(coll.insertOne({ handle: 'x' }))).code).toBe(11000);
    expect(await coll.countDocuments({ handle: 'x' })).toBe(1);
  });

  it('lists collections, filters them by name, and drops a database', async () => {
    const other = client.db(`${db.dbName}_other`);
    await other.collection('a').insertOne({});
    await other.collection('b').insertOne({});
    const names = (await other.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['a', 'b']);
    expect((await other.listCollections({ name: 'b' }).toArray()).map((c) => c.name)).toEqual(['b']);
    await other.dropDatabase();
    expect(await other.listCollections().toArray()).toEqual([]);
  });

  it('matches multikey fields, dotted paths, $in, $or, $elemMatch, $exists and regexes', async () => {
    const coll = database.collection('queries');
    await coll.createIndex({ tags: 1 });
    await coll.insertMany([
      { n: 1, tags: ['a', 'b'], profile: { city: 'Oslo' } },
      { n: 2, tags: ['b', 'c'], profile: { city: 'Rome' } },
      { n: 3, tags: [], items: [{ k: 'x', v: 5 }] },
      { n: 4 },
    ]);
    const ns = async (filter: object) =>
      (await coll.find(filter, { sort: { n: 1 } }).toArray()).map((d) => d.n as number);
    expect(await ns({ tags: 'b' })).toEqual([1, 2]);
    expect(await ns({ tags: { $in: ['a', 'c'] } })).toEqual([1, 2]);
    expect(await ns({ 'profile.city': 'Rome' })).toEqual([2]);
    expect(await ns({ $or: [{ n: 4 }, { tags: 'a' }] })).toEqual([1, 4]);
    expect(await ns({ items: { $elemMatch: { k: 'x', v: { $gt: 4 } } } })).toEqual([3]);
    expect(await ns({ tags: { $exists: false } })).toEqual([4]);
    expect(await ns({ 'profile.city': /^o/i })).toEqual([1]);
    expect(await ns({ tags: { $size: 0 } })).toEqual([3]);
  });

  it('applies projections, skip and limit', async () => {
    const coll = database.collection('proj');
    await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ i, sq: i * i, secret: 's' })));
    const docs = await coll
      .find({}, { projection: { _id: 0, secret: 0 }, sort: { i: -1 }, skip: 2, limit: 3 })
      .toArray();
    expect(docs).toEqual([
      { i: 7, sq: 49 },
      { i: 6, sq: 36 },
      { i: 5, sq: 25 },
    ]);
  });

  it('updates array elements with arrayFilters and the positional operator', async () => {
    const coll = database.collection('arrays');
    const { insertedId } = await coll.insertOne({
      marks: [
        { u: 1, read: false },
        { u: 2, read: false },
      ],
    });
    await coll.updateOne(
      { _id: insertedId },
      { $set: { 'marks.$[m].read': true } },
      { arrayFilters: [{ 'm.u': 2 }] },
    );
    await coll.updateOne({ _id: insertedId, 'marks.u': 1 }, { $set: { 'marks.$.seen': 1 } });
    expect((await coll.findOne({ _id: insertedId }))?.marks).toEqual([
      { u: 1, read: false, seen: 1 },
      { u: 2, read: true },
    ]);
  });

  it('replaces documents and upserts with replaceOne', async () => {
    const coll = database.collection('replace');
    const res = await coll.replaceOne({ key: 'k' }, { key: 'k', v: 1 }, { upsert: true });
    expect(res.upsertedCount).toBe(1);
    await coll.replaceOne({ key: 'k' }, { key: 'k', v: 2 });
    expect(await coll.find({ key: 'k' }, { projection: { _id: 0 } }).toArray()).toEqual([{ key: 'k', v: 2 }]);
  });

  it('counts with estimatedDocumentCount and countDocuments', async () => {
    const coll = database.collection('counting');
    await coll.insertMany(Array.from({ length: 25 }, (_, i) => ({ i })));
    expect(await coll.estimatedDocumentCount()).toBe(25);
    expect(await coll.countDocuments({ i: { $lt: 10 } })).toBe(10);
    expect(await coll.countDocuments({}, { skip: 5, limit: 7 })).toBe(7);
  });

  it('deletes one and many, and findOneAndDelete returns the removed document', async () => {
    const coll = database.collection('deleting');
    await coll.insertMany([{ g: 1 }, { g: 1 }, { g: 2 }, { g: 3 }]);
    expect((await coll.deleteOne({ g: 1 })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ g: { $gte: 1 } })).deletedCount).toBe(3);
    await coll.insertOne({ g: 9 });
    expect((await coll.findOneAndDelete({ g: 9 }))?.g).toBe(9);
    expect(await coll.countDocuments()).toBe(0);
  });

  it('runs bulkWrite with mixed operations', async () => {
    const coll = database.collection('bulk');
    const res = await coll.bulkWrite([
      { insertOne: { document: { k: 1 } } },
      { insertOne: { document: { k: 2 } } },
      { updateOne: { filter: { k: 1 }, update: { $set: { x: true } } } },
      { updateOne: { filter: { k: 3 }, update: { $set: { x: true } }, upsert: true } },
      { deleteOne: { filter: { k: 2 } } },
    ]);
    expect([res.insertedCount, res.modifiedCount, res.upsertedCount, res.deletedCount]).toEqual([2, 1, 1, 1]);
    expect(await coll.find({}, { sort: { k: 1 }, projection: { _id: 0 } }).toArray()).toEqual([
      { k: 1, x: true },
      { k: 3, x: true },
    ]);
  });
});

describe('top-level field updates (applied without mingo)', () => {
  it('$max and $min move a value only in their direction, and set a missing field', async () => {
    const c = database.collection('topmax');
    const early = new Date('2026-01-01T00:00:00Z');
    const late = new Date('2026-06-01T00:00:00Z');
    await c.insertOne({ _id: 'a' as never, seq: 5, at: early, low: 3 });
    await c.updateOne({ _id: 'a' as never }, { $max: { seq: 4, at: late, fresh: 1 }, $min: { low: 7 } });
    expect(await c.findOne({ _id: 'a' as never })).toEqual({ _id: 'a', seq: 5, at: late, low: 3, fresh: 1 });
    await c.updateOne({ _id: 'a' as never }, { $max: { seq: 9 }, $min: { low: -1 } });
    expect(await c.findOne({ _id: 'a' as never })).toMatchObject({ seq: 9, low: -1 });
  });

  it('$inc adds to a number or starts a missing field; $set appends new fields; $unset removes', async () => {
    const c = database.collection('topinc');
    await c.insertOne({ _id: 'b' as never, n: 1, keep: 'x', drop: true });
    const result = await c.updateOne(
      { _id: 'b' as never },
      { $inc: { n: 2, m: 5 }, $set: { keep: 'y', added: [1, 2] }, $unset: { drop: '' } },
    );
    expect(result.modifiedCount).toBe(1);
    const doc = await c.findOne({ _id: 'b' as never });
    expect(doc).toEqual({ _id: 'b', n: 3, keep: 'y', m: 5, added: [1, 2] });
    expect(Object.keys(doc ?? {})).toEqual(['_id', 'n', 'keep', 'm', 'added']);
  });

  it('a $max that changes nothing reports modifiedCount 0, and conditions still filter', async () => {
    const c = database.collection('topnoop');
    await c.insertOne({ _id: 'c' as never, seq: 5 });
    expect((await c.updateOne({ _id: 'c' as never }, { $max: { seq: 2 } })).modifiedCount).toBe(0);
    const guarded = await c.updateOne({ _id: 'c' as never, seq: { $lt: 3 } }, { $set: { seq: 3 } });
    expect(guarded.matchedCount).toBe(0);
    expect(await c.findOne({ _id: 'c' as never })).toEqual({ _id: 'c', seq: 5 });
  });
});

describe('serverStatus counters (mongod: opcounters, metrics.commands)', () => {
  interface Status {
    opcounters: Record<'insert' | 'query' | 'update' | 'delete' | 'getmore' | 'command', number>;
    metrics: { commands: Record<string, { total: number; failed: number }> };
  }
  const status = async (): Promise<Status> => {
    const s = await client.db('admin').command({ serverStatus: 1 });
    return s as unknown as Status;
  };
  const total = (s: Status, name: string) => Number(s.metrics.commands[name]?.total ?? 0);
  const failed = (s: Status, name: string) => Number(s.metrics.commands[name]?.failed ?? 0);
  // A real server may count other clients' commands in between: there the deltas are lower bounds.
  const expectDelta = (actual: number, expected: number) =>
    db.embedded ? expect(actual).toBe(expected) : expect(actual).toBeGreaterThanOrEqual(expected);

  it('counts documents inserted, statements updated and deleted, finds, and other commands', async () => {
    const items = database.collection('counted');
    const before = await status();
    await items.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await items.bulkWrite([
      { updateOne: { filter: { n: 1 }, update: { $set: { a: 1 } } } },
      { updateOne: { filter: { n: 2 }, update: { $set: { a: 2 } } } },
    ]);
    await items.find({ n: { $gte: 2 } }).toArray();
    await items.deleteOne({ n: 3 });
    await database.command({ ping: 1 });
    const after = await status();
    const ops = (k: keyof Status['opcounters']) => Number(after.opcounters[k]) - Number(before.opcounters[k]);
    expectDelta(ops('insert'), 3);
    expectDelta(ops('update'), 2);
    expectDelta(ops('query'), 1);
    expectDelta(ops('delete'), 1);
    expect(ops('command')).toBeGreaterThanOrEqual(1);
    // One command each: the three documents went in one insert, the two updates in one update.
    expectDelta(total(after, 'insert') - total(before, 'insert'), 1);
    expectDelta(total(after, 'update') - total(before, 'update'), 1);
    expectDelta(total(after, 'find') - total(before, 'find'), 1);
    expectDelta(total(after, 'delete') - total(before, 'delete'), 1);
    expect(total(after, 'ping') - total(before, 'ping')).toBeGreaterThanOrEqual(1);
  });

  it('counts a command answered with ok: 0 as failed', async () => {
    const before = await status();
    await failure(
      database
        .collection('counted')
        .find({ n: { $frobnicate: 1 } })
        .toArray(),
    );
    const after = await status();
    expectDelta(failed(after, 'find') - failed(before, 'find'), 1);
    expectDelta(total(after, 'find') - total(before, 'find'), 1);
  });
});
