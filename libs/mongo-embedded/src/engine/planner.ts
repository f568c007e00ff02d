import { ClassBound, compareValues, RANK, typeRank } from './bson-order';
import { type Doc, isPlainObject } from './document';
import type { TextIndex } from '../text/text-index';
import { ABS_HIGH, ABS_LOW, type Index, type IndexKey, type ScanInterval } from './index-tree';

export type SortSpec = ReadonlyArray<readonly [string, 1 | -1]>;

/** How a query reads a collection. */
export type Plan = { kind: 'collscan' } | IndexPlan | { kind: 'or'; branches: IndexPlan[] } | TextPlan;

/** A `$text` query: the text index's postings, intersected with another index's scan when cheaper. */
export interface TextPlan {
  kind: 'text';
  index: TextIndex;
  /** The index the rest of the filter was read through (it decided the candidates), if any. */
  filterIndex: IndexPlan | undefined;
}

export type IndexPlan = {
  kind: 'ixscan';
  index: Index;
  intervals: ScanInterval[];
  reverse: boolean;
  /** The scan already yields documents in the requested sort order. */
  providesSort: boolean;
  /** The bounds express the whole filter: scanned documents need no further matching. */
  exact: boolean;
  /** What scanned documents must still match (undefined when `exact`). */
  residual: Doc | undefined;
};

/**
 * A top-level `$or` whose every branch (with the rest of the filter) can use an index. Each branch's plan carries
 * what its own documents must still match (`residual`): a document one branch's scan yields matches the whole
 * filter when it matches that, so a `$or` of many branches is not matched whole, branch by branch, per document.
 */
function planOr(indexes: readonly Index[], filter: Doc): Plan | undefined {
  const branches = filter.$or;
  if (!Array.isArray(branches) || branches.length === 0 || branches.length > MAX_INTERVALS) return undefined;
  const rest: Doc = { ...filter };
  delete rest.$or;
  const plans: IndexPlan[] = [];
  for (const branch of branches) {
    if (!isPlainObject(branch)) return undefined;
    // The branch with the rest of the filter: as one object when their fields differ, so the branch's plan can
    // leave out what its bounds decide (an `$and` is always matched whole).
    const restFields = Object.keys(rest);
    const combined =
      restFields.length === 0
        ? branch
        : restFields.some((field) => Object.hasOwn(branch, field))
          ? { $and: [rest, branch] }
          : { ...rest, ...branch };
    const plan = planQuery(indexes, combined, undefined);
    if (plan.kind !== 'ixscan') return undefined;
    plans.push(plan);
  }
  return { kind: 'or', branches: plans };
}

interface RangeOp {
  op: '$gt' | '$gte' | '$lt' | '$lte';
  v: unknown;
}

/** What the filter says about one field, as far as index bounds go. */
interface FieldCondition {
  points?: unknown[];
  ranges: RangeOp[];
}

interface Bound {
  v: unknown;
  incl: boolean;
}

interface ValueInterval {
  lo: Bound;
  hi: Bound;
}

/** Most branches of a top-level `$or` planned as a union of index scans. */
const MAX_INTERVALS = 512;

/**
 * Most scan intervals produced by `$in` lists on several index fields (they multiply). The first
 * bounded field is always kept whatever its length: a large `$in` stays a sequence of point seeks
 * (one O(log n) seek per distinct value) instead of becoming a collection scan.
 */
const MAX_SCAN_INTERVALS = 100_000;

function isBoundable(v: unknown): boolean {
  if (v instanceof RegExp || Array.isArray(v)) return false;
  const r = typeRank(v);
  return r !== RANK.regex && r !== RANK.minKey && r !== RANK.maxKey && r !== RANK.other;
}

function addCondition(conds: Map<string, FieldCondition>, field: string, value: unknown): void {
  const cond = conds.get(field) ?? { ranges: [] };
  conds.set(field, cond);
  if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
    for (const [op, v] of Object.entries(value)) {
      if (op === '$eq' && isBoundable(v)) cond.points ??= [v];
      else if (op === '$in' && Array.isArray(v) && v.every(isBoundable)) cond.points ??= [...v];
      else if (
        (op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') &&
        isBoundable(v) &&
        v !== null
      ) {
        cond.ranges.push({ op, v });
      }
    }
    return;
  }
  if (isBoundable(value)) cond.points ??= [value];
}

/** Field conditions usable for index bounds, from the top level and `$and`. */
export function extractConditions(
  filter: Doc,
  conds = new Map<string, FieldCondition>(),
): Map<string, FieldCondition> {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const clause of value) if (isPlainObject(clause)) extractConditions(clause, conds);
    } else if (!key.startsWith('$')) addCondition(conds, key, value);
  }
  return conds;
}

function dedupeSorted(values: unknown[]): unknown[] {
  const sorted = [...values].sort(compareValues);
  return sorted.filter((v, i) => i === 0 || compareValues(v, sorted[i - 1]) !== 0);
}

/** The value interval for range operators; type-bracketed like MongoDB ($gt 5 only reaches numbers). */
function rangeInterval(ranges: readonly RangeOp[], multikey: boolean): ValueInterval {
  // With arrays, `$gt a` and `$lt b` may be met by different elements: only one side bounds the scan.
  const used = multikey ? ranges.slice(0, 1) : ranges;
  let lo: Bound | undefined;
  let hi: Bound | undefined;
  for (const { op, v } of used) {
    if (op === '$gt' || op === '$gte') {
      const b = { v, incl: op === '$gte' };
      if (!lo || compareValues(v, lo.v) > 0 || (compareValues(v, lo.v) === 0 && !b.incl)) lo = b;
    } else {
      const b = { v, incl: op === '$lte' };
      if (!hi || compareValues(v, hi.v) < 0 || (compareValues(v, hi.v) === 0 && !b.incl)) hi = b;
    }
  }
  const rank = typeRank((lo ?? hi)?.v);
  return {
    lo: lo ?? { v: new ClassBound(rank, -1), incl: true },
    hi: hi ?? { v: new ClassBound(rank, 1), incl: true },
  };
}

interface Candidate {
  index: Index;
  /** Per bounded field, its value intervals (points or one range). */
  bounded: ValueInterval[][];
  equalityFields: number;
  hasRange: boolean;
  singlePointPrefix: number;
}

function buildCandidate(index: Index, conds: Map<string, FieldCondition>): Candidate {
  const bounded: ValueInterval[][] = [];
  let equalityFields = 0;
  let hasRange = false;
  let singlePointPrefix = 0;
  let prefixOpen = true;
  for (const field of index.fields) {
    const cond = conds.get(field);
    if (!cond) break;
    if (cond.points) {
      const points = dedupeSorted(cond.points);
      bounded.push(points.map((v) => ({ lo: { v, incl: true }, hi: { v, incl: true } })));
      equalityFields++;
      if (prefixOpen && points.length === 1) singlePointPrefix++;
      else prefixOpen = false;
      continue;
    }
    if (cond.ranges.length > 0) {
      bounded.push([rangeInterval(cond.ranges, index.multikey)]);
      hasRange = true;
    }
    break;
  }
  // Keep the number of scan intervals bounded ($in on several fields multiplies them); the first
  // field's points are always kept, however many.
  const limit = Math.max(MAX_SCAN_INTERVALS, bounded[0]?.length ?? 0);
  while (bounded.length > 1 && bounded.reduce((n, ivs) => n * ivs.length, 1) > limit) bounded.pop();
  return {
    index,
    bounded,
    equalityFields: Math.min(equalityFields, bounded.length),
    hasRange,
    singlePointPrefix,
  };
}

/** Whether a sparse index holds every document the bounds can match (it has none for null). */
function sparseSafe(c: Candidate): boolean {
  const first = c.bounded[0];
  if (!first) return false;
  return first.every((iv) => typeRank(iv.lo.v) !== RANK.null && typeRank(iv.hi.v) !== RANK.null);
}

/** Direction (1 forward, -1 reverse) in which the index yields the sort order, or 0 when it cannot. */
function sortDirection(c: Candidate, remaining: SortSpec, fixed: ReadonlySet<string>): number {
  if (remaining.length === 0) return 1;
  if (c.index.multikey) return 0;
  let direction = 0;
  let pos = c.singlePointPrefix;
  for (const [field, dir] of remaining) {
    // Skip index fields pinned to one value by the filter.
    while (
      pos < c.index.fields.length &&
      c.index.fields[pos] !== field &&
      fixed.has(c.index.fields[pos] as string)
    )
      pos++;
    if (c.index.fields[pos] !== field) return 0;
    const d = dir * (c.index.dirs[pos] as number);
    if (direction === 0) direction = d;
    else if (direction !== d) return 0;
    pos++;
  }
  return direction;
}

/** Turns per-field value intervals into scan intervals over the index's key order. */
function toScanIntervals(index: Index, bounded: ValueInterval[][]): ScanInterval[] {
  let combos: ValueInterval[][] = [[]];
  for (const ivs of bounded) {
    const next: ValueInterval[][] = [];
    for (const combo of combos) for (const iv of ivs) next.push([...combo, iv]);
    combos = next;
  }
  const n = index.fields.length;
  const out: ScanInterval[] = combos.map((combo) => {
    const start: unknown[] = [];
    const end: unknown[] = [];
    let startOpen = false;
    let endOpen = false;
    combo.forEach((iv, i) => {
      const dir = index.dirs[i] as number;
      const first = dir > 0 ? iv.lo : iv.hi;
      const last = dir > 0 ? iv.hi : iv.lo;
      start.push(first.v);
      end.push(last.v);
      startOpen = !first.incl;
      endOpen = !last.incl;
    });
    for (let i = combo.length; i < n; i++) {
      start.push(startOpen ? ABS_HIGH : ABS_LOW);
      end.push(endOpen ? ABS_LOW : ABS_HIGH);
    }
    const startKey: IndexKey = { v: start, r: startOpen ? Infinity : -Infinity };
    const endKey: IndexKey = { v: end, r: endOpen ? -Infinity : Infinity };
    return { start: startKey, end: endKey };
  });
  out.sort((a, b) => index.compareKeys(a.start, b.start));
  return out;
}

const EXACT_RANKS: ReadonlySet<number> = new Set([
  RANK.number,
  RANK.string,
  RANK.boolean,
  RANK.date,
  RANK.objectId,
]);

function isExactScalar(v: unknown): boolean {
  return EXACT_RANKS.has(typeRank(v)) && !(typeof v === 'number' && Number.isNaN(v));
}

/** Whether the bounds on a bounded field decide its condition exactly (scalars, operators the bounds represent). */
function conditionIsExact(value: unknown): boolean {
  if (!isPlainObject(value)) return isExactScalar(value);
  const ops = Object.entries(value);
  if (ops.length === 0) return false;
  const isRange = ops.every(([op]) => op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte');
  if (isRange) {
    const rank = typeRank(ops[0]?.[1]);
    return ops.every(([, v]) => isExactScalar(v) && typeRank(v) === rank);
  }
  if (ops.length !== 1) return false;
  const [op, arg] = ops[0] as [string, unknown];
  if (op === '$eq') return isExactScalar(arg);
  return op === '$in' && Array.isArray(arg) && arg.length > 0 && arg.every(isExactScalar);
}

/**
 * What remains to be matched on the documents an index scan yields: the filter without the
 * conditions its bounds decide exactly (every bounded field compared with scalars, on an index
 * holding no arrays), undefined when nothing remains. A large `$in` is then never re-tested
 * document by document (mingo's `$in` is a linear search of the list).
 */
function residualFilter(filter: Doc, index: Index, boundedFields: number): Doc | undefined {
  if (index.multikey || index.sparse || index.partial) return filter;
  const bounded = new Set(index.fields.slice(0, boundedFields));
  const rest: Doc = {};
  let any = false;
  for (const [field, value] of Object.entries(filter)) {
    if (bounded.has(field) && conditionIsExact(value)) continue;
    rest[field] = value;
    any = true;
  }
  return any ? rest : undefined;
}

/** Chooses how to read a collection for a filter and an optional sort. */
export function planQuery(indexList: Iterable<Index>, filter: Doc, sort: SortSpec | undefined): Plan {
  const indexes = [...indexList];
  const conds = extractConditions(filter);
  const fixed = new Set<string>();
  for (const [field, cond] of conds)
    if (cond.points && dedupeSorted(cond.points).length === 1) fixed.add(field);
  const remaining = (sort ?? []).filter(([f]) => !fixed.has(f));
  let best: { c: Candidate; score: number; dir: number } | undefined;
  for (const index of indexes) {
    if (index.special || index.partial) continue;
    const c = buildCandidate(index, conds);
    if (index.spec.sparse && !sparseSafe(c)) continue;
    const dir = sortDirection(c, remaining, fixed);
    const boundedFields = c.bounded.length;
    if (boundedFields === 0 && (dir === 0 || remaining.length === 0)) continue;
    const fullyPinned =
      index.unique && c.singlePointPrefix === index.fields.length && boundedFields === index.fields.length;
    const score =
      (fullyPinned ? 100 : 0) +
      c.equalityFields * 4 +
      (c.hasRange ? 2 : 0) +
      (dir !== 0 ? 1 : 0) -
      index.fields.length * 0.01;
    if (!best || score > best.score) best = { c, score, dir };
  }
  if (!best) return planOr(indexes, filter) ?? { kind: 'collscan' };
  const intervals = toScanIntervals(best.c.index, best.c.bounded);
  const residual = residualFilter(filter, best.c.index, best.c.bounded.length);
  return {
    kind: 'ixscan',
    index: best.c.index,
    intervals,
    reverse: best.dir < 0,
    providesSort: best.dir !== 0,
    exact: residual === undefined,
    residual,
  };
}
