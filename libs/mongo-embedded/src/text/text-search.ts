import { Query } from 'mingo';
import type { Collection, QueryOptions, QueryResult } from '../engine/collection';
import { compareValues } from '../engine/bson-order';
import { CHECK_EVERY } from '../engine/deadline';
import { type Doc, isPlainObject } from '../engine/document';
import { compileFastFilter } from '../engine/fast-filter';
import { MongoCommandError } from '../engine/errors';
import { type IndexPlan, planQuery, type SortSpec } from '../engine/planner';
import { sortKey, TEXT_SCORE_SORT } from '../engine/sort';
import { bestFirst, Candidates, inOrder, mergePostings } from './candidates';
import type { Postings } from './postings';
import { matchesText, needsTextCheck, parseTextQuery, type SplitFilter } from './text-query';

/**
 * Relative costs (measured on the 2-core machine, ~1 µs a unit) that choose between the two ways of
 * running a `$text` query with another indexable condition: reading one posting (merging it, then
 * placing it in the best-first heap); fetching and matching one candidate; reading one key of the
 * other index (a tree step, then a binary search in each term's postings).
 */
const POSTING_COST = 0.05;
const CANDIDATE_COST = 1;
const INDEX_KEY_COST = 1.2;

/**
 * Whether scanning `keys` keys of another index beats reading `postings` postings. The postings
 * path fetches candidates best first until `want` match: about want × (documents / keys) of them
 * when the other condition is as selective as its index says, all of them without a limit.
 */
function indexIsCheaper(keys: number, postings: number, want: number, documents: number): boolean {
  const fetched = want === Infinity ? postings : Math.min(postings, (want * documents) / Math.max(keys, 1));
  return keys * INDEX_KEY_COST < postings * POSTING_COST + fetched * CANDIDATE_COST;
}

interface Hit {
  rid: number;
  doc: Doc;
  score: number;
}

/** An equality (not a range, not `$in`) on `field` at the top level or in a top-level `$and`. */
function hasEquality(filter: Doc, field: string): boolean {
  const v = filter[field];
  if (v !== undefined) {
    if (!isPlainObject(v)) return true;
    const ops = Object.keys(v);
    if (ops.length === 0 || !ops[0]?.startsWith('$')) return true;
    return ops.length === 1 && ops[0] === '$eq';
  }
  const and = filter.$and;
  return Array.isArray(and) && and.some((c) => isPlainObject(c) && hasEquality(c, field));
}

function compareHits(spec: SortSpec): (a: Hit, b: Hit) => number {
  const keys = spec.map(([field, dir]) => ({ field, dir, parts: field.split('.') }));
  return (a, b) => {
    for (const k of keys) {
      if (k.field === TEXT_SCORE_SORT) {
        if (a.score !== b.score) return b.score - a.score;
        continue;
      }
      const c = compareValues(sortKey(a.doc, k.parts, k.dir), sortKey(b.doc, k.parts, k.dir));
      if (c !== 0) return c * k.dir;
    }
    return a.rid - b.rid;
  };
}

/** The first `want` hits in order, without sorting all of them when `want` is small (a heap). */
function topK(hits: Hit[], want: number, cmp: (a: Hit, b: Hit) => number): Hit[] {
  if (want >= hits.length / 4) return hits.sort(cmp).slice(0, want);
  // A max-heap (by cmp) of the best `want` seen so far: its root is the worst of them.
  const heap: Hit[] = [];
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(heap[i] as Hit, heap[p] as Hit) <= 0) break;
      [heap[i], heap[p]] = [heap[p] as Hit, heap[i] as Hit];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l] as Hit, heap[m] as Hit) > 0) m = l;
      if (r < heap.length && cmp(heap[r] as Hit, heap[m] as Hit) > 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as Hit, heap[i] as Hit];
      i = m;
    }
  };
  for (const h of hits) {
    if (heap.length < want) {
      heap.push(h);
      up(heap.length - 1);
    } else if (cmp(h, heap[0] as Hit) < 0) {
      heap[0] = h;
      down(0);
    }
  }
  return heap.sort(cmp);
}

/**
 * Runs a `$text` query: the query's terms are looked up in the text index (OR), each candidate's
 * score is the sum of its scores for those terms, and the rest of the filter is applied in the same
 * pass. When the rest of the filter can use another index (e.g. `chatId: {$in: […]}`) and that
 * index yields fewer records than the postings hold, the scan of that index drives the query and
 * each record is looked up in the postings; otherwise the postings drive it and candidates are
 * matched against the rest of the filter. Never a collection scan.
 */
export function* runTextSearch(
  coll: Collection,
  split: SplitFilter,
  options: QueryOptions,
): Generator<void, QueryResult, void> {
  const index = coll.textIndex;
  if (!index) throw new MongoCommandError(27, 'text index required for $text query');
  const q = parseTextQuery(split.text, index.defaultLanguage);
  const { rest } = split;
  for (const field of index.prefixFields) {
    if (!hasEquality(rest, field)) {
      throw new MongoCommandError(
        291,
        'error processing query: planner returned error :: caused by :: failed to use text index to satisfy $text query (if text index is compound, are equality predicates given for all prefix fields?)',
      );
    }
  }
  const lists = q.boundsTerms.map((t) => index.postings(t)).filter((l): l is Postings => l !== undefined);
  const postingCount = lists.reduce((n, l) => n + l.size, 0);
  const hasRest = Object.keys(rest).length > 0;
  let candidates: Candidates | undefined;
  let residual: Doc | undefined = hasRest ? rest : undefined;
  let filterIndex: IndexPlan | undefined;
  let keysExamined = 0;
  let work = 0;
  const skip = options.skip ?? 0;
  const want = options.limit ? skip + options.limit : Infinity;
  // Sorted by score alone with a limit: candidates are matched best first, until enough match.
  const scoreOnly = options.sort?.length === 1 && options.sort[0]?.[0] === TEXT_SCORE_SORT;
  const lazy = scoreOnly && want !== Infinity;
  if (hasRest && postingCount > 0) {
    const plan = planQuery(coll.indexes.values(), rest, undefined);
    if (
      plan.kind === 'ixscan' &&
      indexIsCheaper(plan.index.countIn(plan.intervals), postingCount, lazy ? want : Infinity, coll.docs.size)
    ) {
      const seen = plan.index.multikey ? new Set<number>() : undefined;
      const found = new Candidates();
      for (const rid of plan.index.scan(plan.intervals, false)) {
        keysExamined++;
        if (++work % CHECK_EVERY === 0) yield;
        if (seen) {
          if (seen.has(rid)) continue;
          seen.add(rid);
        }
        let score = 0;
        for (const list of lists) score += list.score(rid);
        if (score > 0) found.push(rid, score);
      }
      candidates = found;
      residual = plan.residual;
      filterIndex = plan;
    }
  }
  if (!candidates) {
    // No yield while reading postings: a write in between could shift them under the reader.
    candidates = mergePostings(lists);
    keysExamined += postingCount;
  }
  const fast = residual ? compileFastFilter(residual) : { test: undefined, rest: undefined };
  const matcher = fast.rest ? new Query(fast.rest) : undefined;
  const check = needsTextCheck(q);
  const { rids, scores } = candidates;
  let hits: Hit[] = [];
  let examined = 0;
  for (const i of lazy ? bestFirst(candidates) : inOrder(candidates)) {
    if (++work % CHECK_EVERY === 0) yield;
    const rid = rids[i] as number;
    const score = scores[i] as number;
    const doc = coll.docs.get(rid);
    if (!doc) continue;
    examined++;
    if (fast.test && !fast.test(doc)) continue;
    if (matcher && !matcher.test(doc)) continue;
    if (check && !matchesText(doc, q, index)) continue;
    hits.push({ rid, doc, score });
    if (lazy && hits.length >= want) break;
  }
  coll.docsExamined += examined;
  if (options.sort && options.sort.length > 0 && !lazy) {
    yield;
    const cmp = compareHits(options.sort);
    hits = want === Infinity ? hits.sort(cmp) : topK(hits, want, cmp);
  }
  if (skip > 0 || want !== Infinity) hits = hits.slice(skip, want);
  const textScores = new Map<Doc, number>();
  for (const h of hits) textScores.set(h.doc, h.score);
  return {
    entries: hits.map((h) => [h.rid, h.doc]),
    textScores,
    stats: { plan: { kind: 'text', index, filterIndex }, docsExamined: examined, keysExamined },
  };
}
