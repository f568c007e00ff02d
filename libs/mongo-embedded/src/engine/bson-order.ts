/**
 * MongoDB's total order over BSON values (the order indexes and sorts use):
 * MinKey < null < numbers < strings < objects < arrays < binary < ObjectId < booleans < dates
 * < timestamps < regular expressions < MaxKey.
 */

/** A bound that sorts before (side -1) or after (side 1) every value of one type class. */
export class ClassBound {
  constructor(
    readonly rank: number,
    readonly side: -1 | 1,
  ) {}
}

export const RANK = {
  minKey: 1,
  null: 2,
  number: 3,
  string: 4,
  object: 5,
  array: 6,
  binary: 7,
  objectId: 8,
  boolean: 9,
  date: 10,
  timestamp: 11,
  regex: 12,
  maxKey: 13,
  other: 14,
} as const;

interface BsonTagged {
  _bsontype?: string;
}

function bsonType(v: object): string | undefined {
  return (v as BsonTagged)._bsontype;
}

export function typeRank(v: unknown): number {
  if (v === null || v === undefined) return RANK.null;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return RANK.number;
    case 'string':
      return RANK.string;
    case 'boolean':
      return RANK.boolean;
    case 'object':
      break;
    default:
      return RANK.other;
  }
  const obj = v as object;
  if (obj instanceof ClassBound) return obj.rank;
  if (Array.isArray(obj)) return RANK.array;
  if (obj instanceof Date) return RANK.date;
  if (obj instanceof RegExp) return RANK.regex;
  if (obj instanceof Uint8Array) return RANK.binary;
  switch (bsonType(obj)) {
    case 'MinKey':
      return RANK.minKey;
    case 'MaxKey':
      return RANK.maxKey;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return RANK.number;
    case 'BSONSymbol':
      return RANK.string;
    case 'Binary':
      return RANK.binary;
    case 'ObjectId':
      return RANK.objectId;
    case 'Timestamp':
      return RANK.timestamp;
    case 'BSONRegExp':
      return RANK.regex;
    case undefined:
      return RANK.object;
    default:
      return RANK.other;
  }
}

/** Numeric value of any BSON number (Int32, Double, Long, Decimal128, bigint, number). */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const tagged = v as { _bsontype?: string; toNumber?: () => number; valueOf: () => unknown };
  if (tagged._bsontype === 'Long' && tagged.toNumber) return tagged.toNumber();
  if (tagged._bsontype === 'Decimal128') return Number.parseFloat(String(v));
  return Number(tagged.valueOf());
}

function cmpPrim(a: number | string | boolean, b: number | string | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpNumbers(a: number, b: number): number {
  // NaN sorts before every other number in MongoDB.
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an && bn ? 0 : an ? -1 : 1;
  return cmpPrim(a, b);
}

function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  const bin = v as { buffer: Uint8Array; position?: number };
  return bin.position !== undefined ? bin.buffer.subarray(0, bin.position) : bin.buffer;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

interface ObjectIdWords {
  i0?: number;
  i1?: number;
  i2?: number;
  i3?: number;
}

/** bson 7 keeps an ObjectId as four 24-bit words: compare them without building hex strings. */
function compareObjectIds(a: unknown, b: unknown): number {
  const x = a as ObjectIdWords;
  const y = b as ObjectIdWords;
  if (typeof x.i0 !== 'number' || typeof y.i0 !== 'number') return cmpPrim(String(a), String(b));
  return (
    (x.i0 as number) - (y.i0 as number) ||
    (x.i1 as number) - (y.i1 as number) ||
    (x.i2 as number) - (y.i2 as number) ||
    (x.i3 as number) - (y.i3 as number)
  );
}

/** Compares two BSON values in MongoDB's order. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  // Fast paths for the values index keys mostly hold.
  if (typeof a === 'number' && typeof b === 'number') return cmpNumbers(a, b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (
    typeof a === 'object' &&
    typeof b === 'object' &&
    a !== null &&
    b !== null &&
    (a as BsonTagged)._bsontype === 'ObjectId' &&
    (b as BsonTagged)._bsontype === 'ObjectId'
  ) {
    return compareObjectIds(a, b);
  }
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  const aBound = a instanceof ClassBound;
  const bBound = b instanceof ClassBound;
  if (aBound || bBound) {
    const sa = aBound ? (a as ClassBound).side : 0;
    const sb = bBound ? (b as ClassBound).side : 0;
    return sa - sb;
  }
  switch (ra) {
    case RANK.null:
    case RANK.minKey:
    case RANK.maxKey:
      return 0;
    case RANK.number:
      return cmpNumbers(toNumber(a), toNumber(b));
    case RANK.string:
      return cmpPrim(String(a), String(b));
    case RANK.boolean:
      return cmpPrim(a as boolean, b as boolean);
    case RANK.date:
      return cmpNumbers((a as Date).getTime(), (b as Date).getTime());
    case RANK.objectId:
      return compareObjectIds(a, b);
    case RANK.binary: {
      const sa = (a as { sub_type?: number }).sub_type ?? 0;
      const sb = (b as { sub_type?: number }).sub_type ?? 0;
      const ba = bytesOf(a);
      const bb = bytesOf(b);
      if (ba.length !== bb.length) return ba.length - bb.length;
      if (sa !== sb) return sa - sb;
      return cmpBytes(ba, bb);
    }
    case RANK.timestamp: {
      const ta = a as { t: number; i: number };
      const tb = b as { t: number; i: number };
      return cmpPrim(ta.t, tb.t) || cmpPrim(ta.i, tb.i);
    }
    case RANK.regex: {
      const xa = a as { source?: string; pattern?: string; flags?: string; options?: string };
      const xb = b as { source?: string; pattern?: string; flags?: string; options?: string };
      return (
        cmpPrim(xa.source ?? xa.pattern ?? '', xb.source ?? xb.pattern ?? '') ||
        cmpPrim(xa.flags ?? xa.options ?? '', xb.flags ?? xb.options ?? '')
      );
    }
    case RANK.array: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return xa.length - xb.length;
    }
    case RANK.object: {
      const ea = Object.entries(a as object);
      const eb = Object.entries(b as object);
      const n = Math.min(ea.length, eb.length);
      for (let i = 0; i < n; i++) {
        const [ka, va] = ea[i] as [string, unknown];
        const [kb, vb] = eb[i] as [string, unknown];
        const c = typeRank(va) - typeRank(vb) || cmpPrim(ka, kb) || compareValues(va, vb);
        if (c !== 0) return c;
      }
      return ea.length - eb.length;
    }
    default:
      return cmpPrim(String(a), String(b));
  }
}

/** Deep equality in MongoDB's sense (1 equals 1.0 equals Long(1)). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}
