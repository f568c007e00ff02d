import type { Document } from 'bson';
import { valuesEqual } from '../engine/bson-order';
import type { Collection } from '../engine/collection';
import { type Doc, isPlainObject } from '../engine/document';
import { Deadline } from '../engine/deadline';
import { MongoCommandError, toMongoError } from '../engine/errors';
import { parseSort } from '../engine/sort';
import { applyUpdate, buildUpsert, withId } from '../engine/update';
import type { CommandContext, CommandHandler } from './context';
import { project } from './project';
import { collectionName, docArray, existing, optionalDoc } from './util';

/**
 * A write error for one statement, or a throw for an interruption: like mongod, an expired
 * `maxTimeMS` fails the whole command (code 50) instead of one statement.
 */
function statementError(err: unknown, index: number): Document {
  const mongoErr = toMongoError(err);
  if (mongoErr.code === 50) throw mongoErr;
  return mongoErr.toWriteError(index);
}

function checkNewDocument(doc: Doc): void {
  const id = doc._id;
  if (Array.isArray(id)) throw new MongoCommandError(2, "can't use an array for _id");
  if (id instanceof RegExp) throw new MongoCommandError(2, "can't use a regex for _id");
}

const insert: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, 'insert');
  const docs = docArray(cmd, 'documents');
  const ordered = cmd.ordered !== false;
  const coll = ctx.store.ensureCollection(ctx.db, name);
  let n = 0;
  const writeErrors: Document[] = [];
  for (let i = 0; i < docs.length; i++) {
    try {
      const raw = docs[i];
      if (!isPlainObject(raw)) throw new MongoCommandError(14, 'document to insert must be an object');
      const doc = withId(raw);
      checkNewDocument(doc);
      coll.insert(doc);
      n++;
    } catch (err) {
      writeErrors.push(statementError(err, i));
      if (ordered) break;
    }
  }
  return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
};

interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  before?: Doc;
  after?: Doc;
}

/** Applies one update statement synchronously: read and write with no await between. */
function updateOne(
  ctx: CommandContext,
  name: string,
  stmt: { q: Doc; u: unknown; multi: boolean; upsert: boolean; arrayFilters?: Doc[]; sort?: Doc },
  deadline: Deadline,
): UpdateOutcome {
  const coll: Collection | undefined = stmt.upsert
    ? ctx.store.ensureCollection(ctx.db, name)
    : existing(ctx, name);
  const entries = coll
    ? coll.query(stmt.q, { limit: stmt.multi ? 0 : 1, sort: parseSort(stmt.sort) }, deadline).entries
    : [];
  if (entries.length === 0) {
    if (!stmt.upsert || !coll) return { matched: 0, modified: 0 };
    const doc = buildUpsert(stmt.q, stmt.u, stmt.arrayFilters);
    checkNewDocument(doc);
    coll.insert(doc);
    return { matched: 0, modified: 0, upsertedId: doc._id, after: doc };
  }
  let modified = 0;
  let before: Doc | undefined;
  let after: Doc | undefined;
  for (const [rid, doc] of entries) {
    const next = applyUpdate(doc, stmt.u, {
      query: stmt.q,
      arrayFilters: stmt.arrayFilters,
      inserting: false,
    });
    before ??= doc;
    after ??= next;
    if (!valuesEqual(doc, next)) {
      (coll as Collection).replace(rid, next);
      modified++;
    }
  }
  return { matched: entries.length, modified, before, after };
}

function arrayFiltersOf(stmt: Doc): Doc[] | undefined {
  return Array.isArray(stmt.arrayFilters) ? (stmt.arrayFilters as Doc[]) : undefined;
}

const update: CommandHandler = (cmd, ctx) => {
  const deadline = Deadline.fromCommand(cmd);
  const name = collectionName(cmd, 'update');
  const updates = docArray(cmd, 'updates');
  const ordered = cmd.ordered !== false;
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const writeErrors: Document[] = [];
  for (let i = 0; i < updates.length; i++) {
    const stmt = updates[i] as Doc;
    try {
      const q = isPlainObject(stmt.q) ? stmt.q : {};
      if (
        stmt.multi === true &&
        isPlainObject(stmt.u) &&
        !Object.keys(stmt.u).some((k) => k.startsWith('$'))
      ) {
        throw new MongoCommandError(9, 'multi update is not supported for replacement-style update');
      }
      const out = updateOne(
        ctx,
        name,
        {
          q,
          u: stmt.u,
          multi: stmt.multi === true,
          upsert: stmt.upsert === true,
          arrayFilters: arrayFiltersOf(stmt),
          sort: optionalDoc(stmt, 'sort'),
        },
        deadline,
      );
      if (out.upsertedId !== undefined) {
        n++;
        upserted.push({ index: i, _id: out.upsertedId });
      } else {
        n += out.matched;
        nModified += out.modified;
      }
    } catch (err) {
      writeErrors.push(statementError(err, i));
      if (ordered) break;
    }
  }
  const reply: Document = { n, nModified };
  if (upserted.length > 0) reply.upserted = upserted;
  if (writeErrors.length > 0) reply.writeErrors = writeErrors;
  reply.ok = 1;
  return reply;
};

const del: CommandHandler = (cmd, ctx) => {
  const deadline = Deadline.fromCommand(cmd);
  const name = collectionName(cmd, 'delete');
  const deletes = docArray(cmd, 'deletes');
  const ordered = cmd.ordered !== false;
  const coll = existing(ctx, name);
  let n = 0;
  const writeErrors: Document[] = [];
  for (let i = 0; i < deletes.length; i++) {
    const stmt = deletes[i] as Doc;
    try {
      if (!coll) continue;
      const q = isPlainObject(stmt.q) ? stmt.q : {};
      const limit = Number(stmt.limit ?? 0) === 1 ? 1 : 0;
      for (const [rid] of coll.query(q, { limit }, deadline).entries) if (coll.remove(rid)) n++;
    } catch (err) {
      writeErrors.push(statementError(err, i));
      if (ordered) break;
    }
  }
  return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
};

const findAndModify: CommandHandler = (cmd, ctx) => {
  const deadline = Deadline.fromCommand(cmd);
  const name =
    typeof cmd.findAndModify === 'string' ? cmd.findAndModify : collectionName(cmd, 'findandmodify');
  const query = optionalDoc(cmd, 'query') ?? {};
  const sort = parseSort(cmd.sort);
  const fields = optionalDoc(cmd, 'fields');
  const remove = cmd.remove === true;
  const hasUpdate = cmd.update !== undefined && cmd.update !== null;
  if (remove && hasUpdate) throw new MongoCommandError(9, 'Cannot specify both an update and remove=true');
  if (!remove && !hasUpdate)
    throw new MongoCommandError(9, 'Either an update or remove=true must be specified');
  if (remove) {
    const coll = existing(ctx, name);
    const found = coll?.query(query, { sort, limit: 1 }, deadline).entries[0];
    if (!coll || !found) return { lastErrorObject: { n: 0 }, value: null, ok: 1 };
    coll.remove(found[0]);
    return { lastErrorObject: { n: 1 }, value: project([found[1]], fields, query)[0] ?? null, ok: 1 };
  }
  const out = updateOne(
    ctx,
    name,
    {
      q: query,
      u: cmd.update,
      multi: false,
      upsert: cmd.upsert === true,
      arrayFilters: arrayFiltersOf(cmd),
      sort: optionalDoc(cmd, 'sort'),
    },
    deadline,
  );
  const returnNew = cmd.new === true;
  if (out.upsertedId !== undefined) {
    const value = returnNew && out.after ? (project([out.after], fields, query)[0] ?? null) : null;
    return { lastErrorObject: { n: 1, updatedExisting: false, upserted: out.upsertedId }, value, ok: 1 };
  }
  if (out.matched === 0) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
  const chosen = returnNew ? out.after : out.before;
  return {
    lastErrorObject: { n: 1, updatedExisting: true },
    value: chosen ? (project([chosen], fields, query)[0] ?? null) : null,
    ok: 1,
  };
};

export const writeCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: del,
  findAndModify,
  findandmodify: findAndModify,
};
