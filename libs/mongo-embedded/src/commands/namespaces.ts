import type { Document } from 'bson';
import { Query } from 'mingo';
import type { Doc } from '../engine/document';
import { MongoCommandError } from '../engine/errors';
import type { IndexSpec } from '../engine/index-tree';
import { fixTextSpec, isTextKey } from '../text/text-spec';
import type { CommandHandler } from './context';
import { collectionName, existing, optionalDoc } from './util';

const ID_INDEX = { v: 2, key: { _id: 1 }, name: '_id_' };

function notFound(db: string, coll: string): MongoCommandError {
  return new MongoCommandError(26, `ns does not exist: ${db}.${coll}`);
}

const create: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'create');
  const options: Doc = {};
  for (const [k, v] of Object.entries(cmd)) {
    if (
      k === 'create' ||
      k.startsWith('$') ||
      k === 'lsid' ||
      k === 'txnNumber' ||
      k === 'writeConcern' ||
      k === 'autocommit' ||
      k === 'startTransaction'
    )
      continue;
    options[k] = v;
  }
  ctx.store.createCollection(ctx.db, name, options);
  return { ok: 1 };
};

const drop: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'drop');
  const coll = existing(ctx, name);
  if (!coll) throw notFound(ctx.db, name);
  const nIndexesWas = coll.indexes.size;
  ctx.store.dropCollection(ctx.db, name);
  return { nIndexesWas, ns: coll.ns, ok: 1 };
};

const dropDatabase: CommandHandler = (_cmd, ctx) => {
  ctx.store.dropDatabase(ctx.db);
  return { dropped: ctx.db, ok: 1 };
};

const listCollections: CommandHandler = (cmd, ctx) => {
  const filter = optionalDoc(cmd, 'filter') ?? {};
  const nameOnly = cmd.nameOnly === true;
  const colls = ctx.store.dbs.get(ctx.db);
  const infos: Document[] = [...(colls?.values() ?? [])].map((c) =>
    nameOnly
      ? { name: c.name, type: 'collection' }
      : {
          name: c.name,
          type: 'collection',
          options: c.options,
          info: { readOnly: false },
          idIndex: ID_INDEX,
        },
  );
  const matcher = Object.keys(filter).length > 0 ? new Query(filter) : undefined;
  const docs = matcher ? infos.filter((d) => matcher.test(d)) : infos;
  const cursorOpts = optionalDoc(cmd, 'cursor');
  const batchSize = cursorOpts?.batchSize === undefined ? undefined : Number(cursorOpts.batchSize);
  return ctx.cursors.first(`${ctx.db}.$cmd.listCollections`, docs, batchSize ?? Number.MAX_SAFE_INTEGER);
};

const listDatabases: CommandHandler = (cmd, ctx) => {
  const databases = [...ctx.store.dbs.keys()].map((name) => ({ name, sizeOnDisk: 0, empty: false }));
  if (cmd.nameOnly === true) return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
  return { databases, totalSize: 0, totalSizeMb: 0, ok: 1 };
};

function normaliseIndexSpec(raw: Doc): IndexSpec {
  const key = raw.key;
  if (!key || typeof key !== 'object' || Object.keys(key).length === 0) {
    throw new MongoCommandError(67, 'Index keys cannot be empty.');
  }
  const keyDoc = key as Doc;
  const name =
    typeof raw.name === 'string' && raw.name
      ? raw.name
      : Object.entries(keyDoc)
          .map(([f, d]) => `${f}_${String(d)}`)
          .join('_');
  const spec: IndexSpec = { v: 2, key: keyDoc, name };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'v' || k === 'key' || k === 'name' || k === 'ns' || k === 'background') continue;
    if ((k === 'unique' || k === 'sparse') && v !== true) continue;
    spec[k] = v;
  }
  if (spec.expireAfterSeconds !== undefined) spec.expireAfterSeconds = Number(spec.expireAfterSeconds);
  return isTextKey(keyDoc) ? fixTextSpec(spec) : spec;
}

const createIndexes: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'createIndexes');
  const raw = cmd.indexes;
  if (!Array.isArray(raw) || raw.length === 0)
    throw new MongoCommandError(2, 'Must specify at least one index to create');
  const specs = (raw as Doc[]).map(normaliseIndexSpec);
  const createdCollectionAutomatically = !existing(ctx, name);
  const coll = ctx.store.ensureCollection(ctx.db, name);
  const numIndexesBefore = coll.indexes.size;
  for (const spec of specs) ctx.store.createIndex(coll, spec);
  const reply: Document = {
    numIndexesBefore,
    numIndexesAfter: coll.indexes.size,
    createdCollectionAutomatically,
    ok: 1,
  };
  if (coll.indexes.size === numIndexesBefore) reply.note = 'all indexes already exist';
  return reply;
};

const listIndexes: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'listIndexes');
  const coll = existing(ctx, name);
  if (!coll) throw notFound(ctx.db, name);
  const docs = [...coll.indexes.values()].map((i) => i.spec);
  return ctx.cursors.first(`${coll.ns}`, docs, Number.MAX_SAFE_INTEGER);
};

const dropIndexes: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'dropIndexes');
  const coll = existing(ctx, name);
  if (!coll) throw notFound(ctx.db, name);
  const nIndexesWas = coll.indexes.size;
  const target = cmd.index;
  let names: string[];
  if (target === '*') names = [...coll.indexes.keys()].filter((n) => n !== '_id_');
  else if (typeof target === 'string') names = [target];
  else if (Array.isArray(target)) names = target.map(String);
  else if (target && typeof target === 'object') {
    const match = [...coll.indexes.values()].find(
      (i) => JSON.stringify(i.spec.key) === JSON.stringify(target),
    );
    if (!match) throw new MongoCommandError(27, `can't find index with key: ${JSON.stringify(target)}`);
    names = [match.name];
  } else throw new MongoCommandError(14, "BSON field 'index' is missing or of the wrong type");
  for (const n of names) ctx.store.dropIndex(coll, n);
  return { nIndexesWas, ok: 1 };
};

const collStats: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'collStats');
  const coll = existing(ctx, name);
  if (!coll) throw notFound(ctx.db, name);
  return { ns: coll.ns, count: coll.docs.size, nindexes: coll.indexes.size, size: 0, storageSize: 0, ok: 1 };
};

const dbStats: CommandHandler = (_cmd, ctx) => {
  const colls = ctx.store.dbs.get(ctx.db);
  let objects = 0;
  for (const c of colls?.values() ?? []) objects += c.docs.size;
  return { db: ctx.db, collections: colls?.size ?? 0, objects, dataSize: 0, storageSize: 0, ok: 1 };
};

export const namespaceCommands: Record<string, CommandHandler> = {
  create,
  drop,
  dropDatabase,
  listCollections,
  listDatabases,
  createIndexes,
  listIndexes,
  dropIndexes,
  collStats,
  dbStats,
};
