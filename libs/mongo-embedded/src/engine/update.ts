import { ObjectId } from 'bson';
import { Aggregator, update as mingoUpdate } from 'mingo';
import { compareValues, RANK, typeRank } from './bson-order';
import { deepClone, type Doc, isPlainObject, setPath } from './document';
import { MongoCommandError } from './errors';

const SUPPORTED = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$currentDate',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$bit',
  '$setOnInsert',
]);

export function isOperatorUpdate(u: unknown): u is Doc {
  return isPlainObject(u) && Object.keys(u).some((k) => k.startsWith('$'));
}

/** Puts `_id` first, as MongoDB stores it. */
export function idFirst(doc: Doc): Doc {
  const keys = Object.keys(doc);
  if (keys[0] === '_id' || !('_id' in doc)) return doc;
  const out: Doc = { _id: doc._id };
  for (const k of keys) if (k !== '_id') out[k] = doc[k];
  return out;
}

/** A copy of `doc` with a fresh ObjectId when it has no `_id` (first field either way). */
export function withId(doc: Doc): Doc {
  if (doc._id !== undefined) return idFirst(doc);
  return { _id: new ObjectId(), ...doc };
}

export function validateReplacement(doc: Doc): void {
  for (const key of Object.keys(doc)) {
    if (key.startsWith('$'))
      throw new MongoCommandError(
        52,
        `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
      );
  }
}

export interface UpdateContext {
  /** The query, for the positional `$` operator. */
  query: Doc;
  arrayFilters?: Doc[];
  /** True when the update builds a new upserted document ($setOnInsert applies). */
  inserting: boolean;
}

const NUMERIC_OPS = new Set(['$inc', '$mul']);
const ARRAY_OPS = new Set(['$push', '$addToSet', '$pop', '$pull', '$pullAll']);

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (v instanceof Date) return 'date';
  if (typeof v === 'object') return (v as { _bsontype?: string })._bsontype ?? 'object';
  return typeof v;
}

/**
 * Errors mingo would silently turn into no-ops: $inc on a non-number, $push on a non-array, and a path
 * through a scalar. Paths with positional or numeric parts are left to mingo.
 */
function checkTargets(doc: Doc, ops: Doc): void {
  for (const [op, arg] of Object.entries(ops)) {
    for (const [path, value] of Object.entries(arg as Doc)) {
      if (NUMERIC_OPS.has(op) && typeRank(value) !== RANK.number) {
        throw new MongoCommandError(
          14,
          `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${typeName(value)}}`,
        );
      }
      const parts = path.split('.');
      if (parts.some((p) => p.startsWith('$') || /^\d+$/.test(p))) continue;
      let node: unknown = doc;
      let i = 0;
      for (; i < parts.length - 1; i++) {
        const next = (node as Doc)[parts[i] as string];
        if (next === undefined || Array.isArray(next)) break;
        if (!isPlainObject(next)) {
          throw new MongoCommandError(
            28,
            `Cannot create field '${parts[i + 1]}' in element {${parts[i]}: ${typeName(next)}}`,
          );
        }
        node = next;
      }
      if (i < parts.length - 1) continue;
      const current = (node as Doc)[parts[i] as string];
      if (current === undefined || current === null) continue;
      if (NUMERIC_OPS.has(op) && typeRank(current) !== RANK.number) {
        throw new MongoCommandError(
          14,
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${String(doc._id)}} has the field '${path}' of non-numeric type ${typeName(current)}`,
        );
      }
      if (ARRAY_OPS.has(op) && !Array.isArray(current)) {
        throw new MongoCommandError(
          2,
          `The field '${path}' must be an array but is of type ${typeName(current)} in document {_id: ${String(doc._id)}}`,
        );
      }
    }
  }
}

function applyOperators(doc: Doc, u: Doc, ctx: UpdateContext): Doc {
  const ops: Doc = {};
  for (const [op, arg] of Object.entries(u)) {
    if (!SUPPORTED.has(op))
      throw new MongoCommandError(
        9,
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    if (!isPlainObject(arg))
      throw new MongoCommandError(
        9,
        `Modifiers operate on fields but we found type ${typeof arg} instead. For example: {$mod: {<field>: ...}} not {${op}: ${String(arg)}}`,
      );
    if (op === '$setOnInsert') continue;
    ops[op] = { ...arg };
  }
  const onInsert = u.$setOnInsert;
  if (ctx.inserting && isPlainObject(onInsert)) {
    const set: Doc = { ...((ops.$set as Doc | undefined) ?? {}) };
    for (const [path, value] of Object.entries(onInsert)) {
      if (path in set)
        throw new MongoCommandError(40, `Updating the path '${path}' would create a conflict at '${path}'`);
      set[path] = value;
    }
    ops.$set = set;
  }
  const paths = Object.values(ops).flatMap((arg) => Object.keys(arg as Doc));
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as string;
    const b = sorted[i] as string;
    if (a === b || b.startsWith(`${a}.`))
      throw new MongoCommandError(40, `Updating the path '${b}' would create a conflict at '${a}'`);
  }
  const out = deepClone(doc);
  // mingo refuses to touch _id: MongoDB allows setting it to its current value, or on insert.
  for (const [op, arg] of Object.entries(ops)) {
    const fields = arg as Doc;
    for (const path of Object.keys(fields)) {
      if (path !== '_id' && !path.startsWith('_id.')) continue;
      if (op === '$set' && path === '_id' && (ctx.inserting || compareValues(out._id, fields[path]) === 0)) {
        out._id = fields[path];
        delete fields[path];
        continue;
      }
      throw new MongoCommandError(
        66,
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
  }
  if (Object.keys(ops).length === 0) return out;
  checkTargets(out, ops);
  if (applyTopLevel(out, ops)) return out;
  try {
    mingoUpdate(out, ops as Parameters<typeof mingoUpdate>[1], ctx.arrayFilters, ctx.query);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new MongoCommandError(/conflict/i.test(message) ? 40 : 2, message);
  }
  return out;
}

const TOP_LEVEL_OPS = new Set(['$set', '$unset', '$min', '$max', '$inc']);
const TOP_LEVEL_FIELD = /^[^.$][^.]*$/;

/**
 * The updates the services send on their hot paths ($set, $max, $inc … of top-level fields), applied directly:
 * mingo builds its whole operator context on every call, which made it most of the store's CPU under load.
 * Anything else (dotted or positional paths, array operators, non-number $inc) is left to mingo: false.
 */
function applyTopLevel(out: Doc, ops: Doc): boolean {
  for (const [op, arg] of Object.entries(ops)) {
    if (!TOP_LEVEL_OPS.has(op)) return false;
    for (const [field, value] of Object.entries(arg as Doc)) {
      if (!TOP_LEVEL_FIELD.test(field) || /^\d+$/.test(field)) return false;
      if (
        op === '$inc' &&
        (typeof value !== 'number' || !['number', 'undefined'].includes(typeof out[field]))
      )
        return false;
    }
  }
  for (const [op, arg] of Object.entries(ops)) {
    for (const [field, value] of Object.entries(arg as Doc)) {
      const current = out[field];
      if (op === '$set') out[field] = deepClone(value);
      else if (op === '$unset') delete out[field];
      else if (op === '$inc') out[field] = ((current as number | undefined) ?? 0) + (value as number);
      else if (current === undefined) out[field] = deepClone(value);
      else {
        const order = compareValues(value, current);
        if ((op === '$max' && order > 0) || (op === '$min' && order < 0)) out[field] = deepClone(value);
      }
    }
  }
  return true;
}

function applyPipeline(doc: Doc, stages: Doc[]): Doc {
  const [result] = new Aggregator(stages).run([deepClone(doc)]) as Doc[];
  if (!result) throw new MongoCommandError(2, 'update pipeline produced no document');
  return result;
}

/**
 * The document `u` makes of `doc`: an operator update, a replacement or a pipeline.
 * Throws ImmutableField (66) when `_id` would change.
 */
export function applyUpdate(doc: Doc, u: unknown, ctx: UpdateContext): Doc {
  let next: Doc;
  if (Array.isArray(u)) next = applyPipeline(doc, u as Doc[]);
  else if (isOperatorUpdate(u)) next = applyOperators(doc, u, ctx);
  else if (isPlainObject(u)) {
    validateReplacement(u);
    next = { ...u };
    if (next._id === undefined && doc._id !== undefined) next._id = doc._id;
  } else throw new MongoCommandError(9, 'Update argument must be either an object or an array');
  if (doc._id !== undefined && compareValues(doc._id, next._id) !== 0) {
    throw new MongoCommandError(
      66,
      "Performing an update on the path '_id' would modify the immutable field '_id'",
    );
  }
  return idFirst(next);
}

/** The document an upsert starts from: the equality fields of the query. */
export function seedFromQuery(q: Doc): Doc {
  const seed: Doc = {};
  const visit = (filter: Doc): void => {
    for (const [key, value] of Object.entries(filter)) {
      if (key === '$and' && Array.isArray(value)) {
        for (const clause of value) if (isPlainObject(clause)) visit(clause);
        continue;
      }
      if (key.startsWith('$')) continue;
      if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
        if ('$eq' in value) setPath(seed, key, deepClone(value.$eq));
        continue;
      }
      if (value instanceof RegExp) continue;
      setPath(seed, key, deepClone(value));
    }
  };
  visit(q);
  return seed;
}

/** The new document an upsert inserts. */
export function buildUpsert(q: Doc, u: unknown, arrayFilters: Doc[] | undefined): Doc {
  const seed = seedFromQuery(q);
  let doc: Doc;
  if (Array.isArray(u)) doc = applyPipeline(seed, u as Doc[]);
  else if (isOperatorUpdate(u)) doc = applyOperators(seed, u, { query: q, arrayFilters, inserting: true });
  else if (isPlainObject(u)) {
    validateReplacement(u);
    doc = { ...u };
    if (doc._id === undefined && seed._id !== undefined) doc._id = seed._id;
  } else throw new MongoCommandError(9, 'Update argument must be either an object or an array');
  if (seed._id !== undefined && doc._id !== undefined && compareValues(seed._id, doc._id) !== 0) {
    throw new MongoCommandError(
      66,
      "Performing an update on the path '_id' would modify the immutable field '_id'",
    );
  }
  return withId(doc);
}
