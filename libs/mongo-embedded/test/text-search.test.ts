import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collection, type Db, type Document, MongoClient, MongoServerError, ObjectId } from 'mongodb';
import mongoose, { Schema } from 'mongoose';
import { startEmbeddedMongo } from '../src/index';
import { CLIENT_OPTIONS, embeddedOnly, openTestDb, type TestDb } from './helpers';

// $text and text indexes with MongoDB's documented semantics (text index version 3, English).
// Every assertion holds on a real MongoDB too (MONGO_URL), except the restart test.

let db: TestDb;
let client: MongoClient;
let database: Db;
let n = 0;

beforeAll(async () => {
  db = await openTestDb('text');
  client = await new MongoClient(db.url, CLIENT_OPTIONS).connect();
  database = client.db(db.dbName);
});

afterAll(async () => {
  await client?.close();
  await db?.close();
});

/** A fresh collection with a text index on `text` holding these texts. */
async function collectionWith(texts: string[], index: Document = { text: 'text' }): Promise<Collection> {
  const coll = database.collection(`c${++n}`);
  await coll.createIndex(index);
  if (texts.length > 0) await coll.insertMany(texts.map((text, i) => ({ i, text })));
  return coll;
}

interface TextSearch {
  $search: string;
  $language?: string;
  $caseSensitive?: boolean;
  $diacriticSensitive?: boolean;
}

async function search(coll: Collection, query: string | TextSearch, extra: Document = {}): Promise<string[]> {
  const $text = typeof query === 'string' ? { $search: query } : query;
  const docs = await coll.find({ $text, ...extra }).toArray();
  return docs.map((d) => d.text as string).sort();
}

async function failure(p: Promise<unknown>): Promise<MongoServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof MongoServerError)) throw new Error(`expected a MongoServerError, got ${String(err)}`);
  return err;
}

describe('text indexes', () => {
  it('lists a text index as MongoDB stores it', async () => {
    const coll = database.collection(`c${++n}`);
    expect(await coll.createIndex({ text: 'text' })).toBe('text_text');
    const spec = (await coll.listIndexes().toArray()).find((i) => i.name === 'text_text');
    expect(spec).toMatchObject({
      key: { _fts: 'text', _ftsx: 1 },
      name: 'text_text',
      weights: { text: 1 },
      default_language: 'english',
      language_override: 'language',
      textIndexVersion: 3,
    });
    // The same index again is a no-op.
    expect(await coll.createIndex({ text: 'text' })).toBe('text_text');
  });

  it('lists compound text indexes with their weights, language and prefix/suffix fields', async () => {
    const coll = database.collection(`c${++n}`);
    const name = await coll.createIndex(
      { chatId: 1, title: 'text', body: 'text', seq: -1 },
      { weights: { title: 10 }, default_language: 'none', language_override: 'lang' },
    );
    expect(name).toBe('chatId_1_title_text_body_text_seq_-1');
    const spec = (await coll.listIndexes().toArray()).find((i) => i.name === name);
    expect(spec).toMatchObject({
      key: { chatId: 1, _fts: 'text', _ftsx: 1, seq: -1 },
      weights: { body: 1, title: 10 },
      default_language: 'none',
      language_override: 'lang',
      textIndexVersion: 3,
    });
    expect(Object.keys(spec?.key as Document)).toEqual(['chatId', '_fts', '_ftsx', 'seq']);
  });

  it('allows one text index per collection', async () => {
    const coll = await collectionWith([]);
    // Same key pattern ({_fts, _ftsx}) under another name and options: IndexOptionsConflict.
    expect((await failure(coll.createIndex({ body: 'text' }))).code).toBe(85);
    // Another text index: CannotCreateIndex.
    expect((await failure(coll.createIndex({ chatId: 1, body: 'text' }))).code).toBe(67);
    expect((await coll.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(['_id_', 'text_text']);
  });

  it('refuses $text on a collection without a text index (27)', async () => {
    const coll = database.collection(`c${++n}`);
    await coll.insertOne({ text: 'hello' });
    const err = await failure(coll.find({ $text: { $search: 'hello' } }).toArray());
    expect(err.code).toBe(27);
    expect(err.message).toMatch(/text index required for \$text query/);
  });

  it('indexes the documents that existed before the index', async () => {
    const coll = database.collection(`c${++n}`);
    await coll.insertMany([{ text: 'an old message' }, { text: 'unrelated' }]);
    await coll.createIndex({ text: 'text' });
    expect(await search(coll, 'messages')).toEqual(['an old message']);
  });

  it('drops the text index; $text then fails again', async () => {
    const coll = await collectionWith(['hello world']);
    await coll.dropIndex('text_text');
    expect((await failure(coll.find({ $text: { $search: 'hello' } }).toArray())).code).toBe(27);
  });
});

describe('$text matching', () => {
  const texts = [
    'I run every morning',
    'She is running late',
    'He runs the deploy script',
    'A marathon runner',
    'Nothing to see here',
  ];

  it('matches every form of a word through English stemming', async () => {
    const coll = await collectionWith(texts);
    const expected = ['He runs the deploy script', 'I run every morning', 'She is running late'];
    expect(await search(coll, 'run')).toEqual(expected);
    expect(await search(coll, 'running')).toEqual(expected);
    expect(await search(coll, 'RUNS')).toEqual(expected);
    expect(await search(coll, 'runner')).toEqual(['A marathon runner']);
  });

  it('ORs the words of the search string', async () => {
    const coll = await collectionWith(texts);
    expect(await search(coll, 'marathon morning')).toEqual(['A marathon runner', 'I run every morning']);
  });

  it('drops English stop words from queries and documents', async () => {
    const coll = await collectionWith([...texts, 'the the the', 'to be or not to be']);
    expect(await search(coll, 'the')).toEqual([]);
    expect(await search(coll, 'to be or not')).toEqual([]);
    expect(await search(coll, 'the marathon')).toEqual(['A marathon runner']);
  });

  it('is case- and diacritic-insensitive by default, sensitive on request', async () => {
    const coll = await collectionWith(['Café crème', 'plain cafe', 'CAFE SOCIETY']);
    expect(await search(coll, 'café')).toEqual(['CAFE SOCIETY', 'Café crème', 'plain cafe']);
    expect(await search(coll, 'CREME')).toEqual(['Café crème']);
    expect(await search(coll, { $search: 'cafe', $caseSensitive: true })).toEqual(['plain cafe']);
    expect(await search(coll, { $search: 'café', $diacriticSensitive: true })).toEqual(['Café crème']);
    expect(await search(coll, { $search: 'cafe', $diacriticSensitive: true })).toEqual([
      'CAFE SOCIETY',
      'plain cafe',
    ]);
  });

  it('requires every "exact phrase" (case-insensitive), words around them still OR', async () => {
    const coll = await collectionWith([
      'red apple pie',
      'Apple red',
      'green apple',
      'Red Apple and green pear',
    ]);
    expect(await search(coll, '"red apple"')).toEqual(['Red Apple and green pear', 'red apple pie']);
    expect(await search(coll, '"red apple" pear')).toEqual(['Red Apple and green pear', 'red apple pie']);
    expect(await search(coll, '"red apple" "green pear"')).toEqual(['Red Apple and green pear']);
  });

  it('excludes -negated words and phrases', async () => {
    const coll = await collectionWith([
      'red apple pie',
      'Apple red',
      'green apple',
      'Red Apple and green pear',
    ]);
    expect(await search(coll, 'apple -green')).toEqual(['Apple red', 'red apple pie']);
    expect(await search(coll, 'apple -"red apple"')).toEqual(['Apple red', 'green apple']);
    // Negation alone matches nothing; a hyphen inside a word is a delimiter, not a negation.
    expect(await search(coll, '-green')).toEqual([]);
    expect(await search(coll, 'green-pear')).toEqual(['Red Apple and green pear', 'green apple']);
  });

  it("searches without stemming or stop words under the 'none' language", async () => {
    const coll = await collectionWith(['the runs', 'running', 'run'], { text: 'text' });
    // The index is English (stems stored): an unstemmed query word finds only its stem's documents.
    expect(await search(coll, { $search: 'running', $language: 'none' })).toEqual([]);
    const plain = await collectionWith([], { text: 'text' });
    await plain.dropIndexes();
    await plain.createIndex({ text: 'text' }, { default_language: 'none' });
    await plain.insertMany([{ text: 'the runs' }, { text: 'running' }, { text: 'run' }]);
    expect(await search(plain, 'the')).toEqual(['the runs']);
    expect(await search(plain, 'run')).toEqual(['run']);
  });

  it('reflects inserts, updates and deletes', async () => {
    const coll = await collectionWith(['deploy the api', 'lunch at noon']);
    await coll.updateOne({ text: 'lunch at noon' }, { $set: { text: 'deploying after lunch' } });
    await coll.deleteOne({ text: 'deploy the api' });
    await coll.insertOne({ text: 'deployment done' });
    await coll.updateOne({ text: 'deployment done' }, { $set: { reactions: 3 } });
    expect(await search(coll, 'deploy')).toEqual(['deploying after lunch', 'deployment done']);
    expect(await search(coll, 'noon')).toEqual([]);
    expect(await search(coll, 'lunch')).toEqual(['deploying after lunch']);
  });

  it('applies the rest of the filter in the same query', async () => {
    const coll = database.collection(`c${++n}`);
    await coll.createIndex({ text: 'text' });
    await coll.createIndex({ chatId: 1, seq: 1 });
    const chats = Array.from({ length: 4 }, () => new ObjectId());
    await coll.insertMany(
      chats.flatMap((chatId, c) =>
        Array.from({ length: 30 }, (_, seq) => ({
          chatId,
          seq,
          text: seq % 3 === 0 ? `deploy ${c}-${seq}` : `other ${c}-${seq}`,
          deletedAt: seq === 3 ? new Date() : null,
        })),
      ),
    );
    const mine = [chats[0], chats[2]];
    const found = await coll
      .find({ $text: { $search: 'deploy' }, chatId: { $in: mine }, deletedAt: null })
      .toArray();
    expect(found).toHaveLength(18);
    for (const doc of found) {
      expect(mine.some((id) => id?.equals(doc.chatId as ObjectId))).toBe(true);
      expect(doc.deletedAt).toBeNull();
      expect(doc.text).toMatch(/^deploy/);
    }
    expect(
      await coll.countDocuments({ $text: { $search: 'deploy' }, chatId: { $in: mine }, deletedAt: null }),
    ).toBe(18);
  });

  it('finds the same documents when a selective filter or the postings drive the query', async () => {
    const coll = database.collection(`c${++n}`);
    await coll.createIndex({ text: 'text' });
    await coll.createIndex({ chatId: 1, seq: 1 });
    const chats = Array.from({ length: 50 }, (_, c) => c);
    // Every message holds "deploy" (large postings), "rare" only a few: one chat of 50 is small
    // next to the first word's postings and large next to the second's.
    await coll.insertMany(
      chats.flatMap((chatId) =>
        Array.from({ length: 40 }, (_, seq) => ({
          chatId,
          seq,
          text: `deploy ${seq % 10 === 0 ? 'rare ' : ''}${'x '.repeat(seq % 7)}`,
          deletedAt: seq === 5 ? new Date() : null,
        })),
      ),
    );
    for (const word of ['deploy', 'rare']) {
      const filter = { $text: { $search: word }, chatId: { $in: [7] }, deletedAt: null };
      const all = await coll
        .find(filter, { projection: { seq: 1, score: { $meta: 'textScore' } } })
        .toArray();
      const expected = word === 'deploy' ? 39 : 4;
      expect(all).toHaveLength(expected);
      const best = await coll
        .find(filter, { projection: { seq: 1, score: { $meta: 'textScore' } } })
        .sort({ score: { $meta: 'textScore' } })
        .limit(3)
        .toArray();
      const byScore = [...all].sort((a, b) => (b.score as number) - (a.score as number));
      expect(best.map((d) => d.score)).toEqual(byScore.slice(0, 3).map((d) => d.score));
    }
  });

  it('needs an equality on the prefix fields of a compound text index', async () => {
    const coll = database.collection(`c${++n}`);
    await coll.createIndex({ chatId: 1, text: 'text' });
    await coll.insertMany([
      { chatId: 1, text: 'deploy one' },
      { chatId: 2, text: 'deploy two' },
    ]);
    expect(await search(coll, 'deploy', { chatId: 2 })).toEqual(['deploy two']);
    await failure(coll.find({ $text: { $search: 'deploy' } }).toArray());
  });
});

describe('text score', () => {
  it('scores with MongoDB formula and sorts best first', async () => {
    const coll = await collectionWith([
      'deploy',
      'deploy deploy deploy now',
      'we deploy on fridays and then we rest',
    ]);
    const docs = await coll
      .find(
        { $text: { $search: 'deploys' } },
        { projection: { _id: 0, text: 1, score: { $meta: 'textScore' } } },
      )
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    expect(docs.map((d) => d.text)).toEqual([
      'deploy deploy deploy now',
      'deploy',
      'we deploy on fridays and then we rest',
    ]);
    // 3 of 4 terms: (1 + 1/2 + 1/4) × (0.5 × 3/4 + 0.5); the whole string: 1 × 1 × 1.1;
    // 1 of 3 terms (we, on, and, then are stop words): 0.5 × 1/3 + 0.5.
    expect(docs[0]?.score).toBeCloseTo(1.53125, 10);
    expect(docs[1]?.score).toBeCloseTo(1.1, 10);
    expect(docs[2]?.score).toBeCloseTo(2 / 3, 10);
    expect(Object.keys(docs[0] ?? {})).toEqual(['text', 'score']);
  });

  it('sums the scores of the query terms and keeps every field when projecting only the score', async () => {
    const coll = await collectionWith(['alpha beta', 'alpha gamma delta epsilon']);
    const docs = await coll
      .find({ $text: { $search: 'alpha beta' } }, { projection: { score: { $meta: 'textScore' } } })
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    expect(docs.map((d) => d.text)).toEqual(['alpha beta', 'alpha gamma delta epsilon']);
    expect(docs[0]?.score).toBeCloseTo(0.75 + 0.75, 10);
    expect(docs[1]?.score).toBeCloseTo(0.625, 10);
    expect(docs[0]).toHaveProperty('i');
  });

  it('weights fields', async () => {
    const coll = database.collection(`c${++n}`);
    await coll.createIndex({ title: 'text', body: 'text' }, { weights: { title: 10 } });
    await coll.insertMany([
      { name: 'in body', title: 'notes', body: 'the deploy guide' },
      { name: 'in title', title: 'deploy guide', body: 'notes' },
    ]);
    const docs = await coll
      .find({ $text: { $search: 'deploy' } }, { projection: { name: 1, score: { $meta: 'textScore' } } })
      .sort({ score: { $meta: 'textScore' } })
      .toArray();
    expect(docs.map((d) => d.name)).toEqual(['in title', 'in body']);
    expect(docs[0]?.score).toBeCloseTo(10 * 0.75, 10);
    expect(docs[1]?.score).toBeCloseTo(0.75, 10);
  });

  it('sorts by score with a limit and a second sort key', async () => {
    const coll = await collectionWith(['ship it', 'ship ship', 'ship now please', 'ship later today']);
    const docs = await coll
      .find({ $text: { $search: 'ship' } })
      .sort({ score: { $meta: 'textScore' }, i: -1 })
      .limit(3)
      .toArray();
    expect(docs.map((d) => d.text)).toEqual(['ship ship', 'ship it', 'ship later today']);
  });

  it('reads the score in aggregation stages', async () => {
    const coll = await collectionWith(['deploy', 'deploy deploy deploy now', 'lunch']);
    const docs = await coll
      .aggregate([
        { $match: { $text: { $search: 'deploy' } } },
        { $sort: { score: { $meta: 'textScore' } } },
        { $project: { _id: 0, text: 1, score: { $meta: 'textScore' } } },
        { $addFields: { doubled: { $multiply: [{ $meta: 'textScore' }, 2] } } },
      ])
      .toArray();
    expect(docs.map((d) => d.text)).toEqual(['deploy deploy deploy now', 'deploy']);
    expect(docs[0]?.score).toBeCloseTo(1.53125, 10);
    expect(docs[0]?.doubled).toBeCloseTo(3.0625, 10);
    expect(Object.keys(docs[0] ?? {}).sort()).toEqual(['doubled', 'score', 'text']);
  });
});

describe('$text errors', () => {
  let coll: Collection;
  beforeAll(async () => {
    coll = await collectionWith(['hello world']);
  });

  it('allows one $text per query', async () => {
    const err = await failure(
      coll.find({ $and: [{ $text: { $search: 'hello' } }, { $text: { $search: 'world' } }] }).toArray(),
    );
    expect(err.code).toBe(2);
  });

  it('refuses $text under $nor and inside $elemMatch', async () => {
    expect((await failure(coll.find({ $nor: [{ $text: { $search: 'hello' } }] }).toArray())).code).toBe(2);
    await failure(coll.find({ tags: { $elemMatch: { $text: { $search: 'hello' } } } }).toArray());
  });

  it('refuses a $text $match after the first stage', async () => {
    await failure(coll.aggregate([{ $limit: 5 }, { $match: { $text: { $search: 'hello' } } }]).toArray());
  });

  it('refuses a $search that is not a string', async () => {
    const filter: Document = { $text: { $search: 5 } };
    await failure(coll.find(filter).toArray());
  });

  it('refuses textScore metadata without $text', async () => {
    await failure(
      coll
        .find({}, { projection: { score: { $meta: 'textScore' } } })
        .sort({ score: { $meta: 'textScore' } })
        .toArray(),
    );
  });
});

describe('text search through mongoose', () => {
  it('declares the index in the schema and sorts by textScore', async () => {
    interface Note {
      text: string;
    }
    const schema = new Schema<Note>({ text: { type: String, required: true } });
    schema.index({ text: 'text' }, { default_language: 'english' });
    const conn = await mongoose.createConnection(db.url, CLIENT_OPTIONS).asPromise();
    try {
      const Note = conn.model<Note>('Note', schema, `notes${++n}`);
      await Note.init();
      await Note.create([{ text: 'Deploying now' }, { text: 'deploy deploy' }, { text: 'lunch' }]);
      const found = await Note.find({ $text: { $search: 'deploys' } }, { score: { $meta: 'textScore' } })
        .sort({ score: { $meta: 'textScore' } })
        .lean<Array<Note & { score: number }>>();
      expect(found.map((d) => d.text)).toEqual(['deploy deploy', 'Deploying now']);
      expect(found[0]?.score).toBeGreaterThan(found[1]?.score ?? Infinity);
    } finally {
      await conn.close();
    }
  });
});

describe('persisted text indexes', () => {
  embeddedOnly('rebuilds the text index when a data directory is loaded', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mongo-embedded-text-'));
    try {
      const first = await startEmbeddedMongo({ dataDir });
      const c1 = await new MongoClient(`${first.uri}/persist`, CLIENT_OPTIONS).connect();
      const notes = c1.db('persist').collection('notes');
      await notes.createIndex({ text: 'text' });
      await notes.insertMany([{ text: 'release the kraken' }, { text: 'quiet day' }]);
      await notes.updateOne({ text: 'quiet day' }, { $set: { text: 'a released build' } });
      await c1.close();
      await first.close();
      const second = await startEmbeddedMongo({ dataDir });
      const c2 = await new MongoClient(`${second.uri}/persist`, CLIENT_OPTIONS).connect();
      try {
        expect(await search(c2.db('persist').collection('notes'), 'releasing')).toEqual([
          'a released build',
          'release the kraken',
        ]);
      } finally {
        await c2.close();
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
