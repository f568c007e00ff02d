import { type Doc, isPlainObject } from './document';

/** A canonical key for the scalar values equality can test by hashing; undefined for others. */
function valueKey(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'number':
      return Number.isNaN(v) ? undefined : `n${v}`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v instanceof Date) return `d${v.getTime()}`;
      if ((v as { _bsontype?: unknown })._bsontype === 'ObjectId') {
        return `o${(v as { toHexString(): string }).toHexString()}`;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** The keys a condition accepts when it is `scalar`, `{$eq: scalar}` or `{$in: [scalars]}`. */
function acceptedKeys(cond: unknown): Set<string> | undefined {
  if (!isPlainObject(cond)) {
    if (Array.isArray(cond)) return undefined;
    const k = valueKey(cond);
    return k === undefined ? undefined : new Set([k]);
  }
  const ops = Object.keys(cond);
  if (ops.length !== 1) return undefined;
  if (ops[0] === '$eq') return acceptedKeys(cond.$eq);
  if (ops[0] !== '$in' || !Array.isArray(cond.$in)) return undefined;
  const keys = new Set<string>();
  for (const v of cond.$in) {
    if (Array.isArray(v) || isPlainObject(v)) return undefined;
    const k = valueKey(v);
    if (k === undefined) return undefined;
    keys.add(k);
  }
  return keys;
}

function matchesKeys(value: unknown, keys: Set<string>): boolean {
  if (Array.isArray(value)) {
    // MongoDB matches an array by any of its elements (an empty array matches neither null nor a value).
    for (const el of value) {
      const k = valueKey(el);
      if (k !== undefined && keys.has(k)) return true;
    }
    return false;
  }
  const k = valueKey(value);
  return k !== undefined && keys.has(k);
}

/** A filter split into a hashed predicate for simple top-level equalities and the rest (for mingo). */
export interface FastFilter {
  test: ((doc: Doc) => boolean) | undefined;
  rest: Doc | undefined;
}

/**
 * Compiles top-level `field: scalar`, `{$eq}` and `{$in: [...]}` conditions (strings, numbers,
 * booleans, null, dates, ObjectIds; no dotted paths) into a hash lookup per document: mingo's `$in`
 * scans its list on every document. Whatever else the filter says stays in `rest`.
 */
export function compileFastFilter(filter: Doc): FastFilter {
  const checks: Array<{ field: string; keys: Set<string> }> = [];
  const rest: Doc = {};
  for (const [field, cond] of Object.entries(filter)) {
    const keys = field.startsWith('$') || field.includes('.') ? undefined : acceptedKeys(cond);
    if (keys) checks.push({ field, keys });
    else rest[field] = cond;
  }
  const test =
    checks.length === 0 ? undefined : (doc: Doc) => checks.every((c) => matchesKeys(doc[c.field], c.keys));
  return { test, rest: Object.keys(rest).length > 0 ? rest : undefined };
}
