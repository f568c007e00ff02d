import { ObjectId } from 'bson';
import { Query } from 'mingo';
import { compareValues } from '../src/engine/bson-order';
import { Collection } from '../src/engine/collection';
import { type Doc, pathValues } from '../src/engine/document';
import type { SortSpec } from '../src/engine/planner';
import { sortDocs } from '../src/engine/sort';
import { embeddedOnly } from './helpers';

// Differential test of the engine: every query answered through the planner's index scans must
// return what a plain scan + mingo filter + sort returns.

let seed = 42;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
}
function pick<T>(xs: readonly T[]): T {
  return xs[rnd(xs.length)] as T;
}

const SCALARS: unknown[] = [
  0,
  1,
  2,
  3,
  5,
  8,
  2.5,
  -1,
  'a',
  'b',
  'c',
  null,
  true,
  new Date(1000),
  new Date(5000),
];

function randomDoc(i: number): Doc {
  const doc: Doc = { _id: new ObjectId(), i };
  if (rnd(10) > 0) doc.a = pick(SCALARS);
  doc.b = rnd(5);
  if (rnd(3) === 0) doc.c = Array.from({ length: rnd(4) }, () => pick([1, 2, 3, 'x', 'y']));
  else if (rnd(2) === 0) doc.c = pick([1, 2, 3, 'x']);
  if (rnd(3) === 0) doc.d = pick(['p', 'q', 'r']);
  if (rnd(2) === 0) doc.e = rnd(2) ? { f: pick([1, 2, 3]) } : [{ f: pick([1, 2]) }, { f: pick([3, 4]) }];
  return doc;
}

function randomCondition(): Doc {
  const field = pick(['a', 'b', 'c', 'd', 'e.f']);
  const v =
    field === 'b' ? rnd(5) : field === 'd' ? pick(['p', 'q', 'z']) : field === 'e.f' ? rnd(5) : pick(SCALARS);
  switch (rnd(7)) {
    case 0:
      return { [field]: v };
    case 1:
      return { [field]: { $in: [v, pick(SCALARS), rnd(4)] } };
    case 2:
      return { [field]: { $gt: v } };
    case 3:
      return { [field]: { $lte: v } };
    case 4:
      return { [field]: { $gte: rnd(3), $lt: rnd(6) } };
    case 5:
      return { [field]: { $exists: rnd(2) === 0 } };
    default:
      return { [field]: { $ne: v } };
  }
}

function randomFilter(): Doc {
  const parts = Array.from({ length: 1 + rnd(3) }, randomCondition);
  if (rnd(5) === 0) return { $or: parts };
  // A `$or` beside other conditions: each branch is planned with them (merged, or under `$and` when a field repeats).
  if (rnd(5) === 0) return { ...randomCondition(), $or: parts };
  if (rnd(4) === 0) return { $and: parts };
  return Object.assign({}, ...parts) as Doc;
}

function randomSort(): SortSpec | undefined {
  if (rnd(3) === 0) return undefined;
  const fields = ['a', 'b', 'c'];
  const n = 1 + rnd(2);
  const spec: Array<readonly [string, 1 | -1]> = [];
  for (let k = 0; k < n; k++) {
    const f = fields.splice(rnd(fields.length), 1)[0] as string;
    spec.push([f, rnd(2) ? 1 : -1]);
  }
  return spec;
}

function sortKeys(docs: readonly Doc[], sort: SortSpec): string {
  // Missing and null sort alike.
  return JSON.stringify(
    docs.map((d) => sort.map(([f]) => pathValues(d, f.split('.')).values.map((v) => String(v ?? null)))),
  );
}

describe('query planner', () => {
  embeddedOnly('answers random filters, sorts and limits through indexes exactly like a full scan', () => {
    const coll = new Collection('t', 'c', {}, { onPut: () => undefined, onDelete: () => undefined });
    coll.createIndex({ v: 2, key: { a: 1 }, name: 'a_1' });
    coll.createIndex({ v: 2, key: { a: 1, b: -1 }, name: 'a_1_b_-1' });
    coll.createIndex({ v: 2, key: { b: 1, a: 1 }, name: 'b_1_a_1' });
    coll.createIndex({ v: 2, key: { c: 1 }, name: 'c_1' });
    coll.createIndex({ v: 2, key: { d: 1 }, name: 'd_1', sparse: true });
    coll.createIndex({ v: 2, key: { 'e.f': 1 }, name: 'e.f_1' });
    const docs = Array.from({ length: 300 }, (_, i) => randomDoc(i));
    for (const doc of docs) coll.insert(doc);
    let indexed = 0;
    let unions = 0;
    for (let round = 0; round < 400; round++) {
      const filter = randomFilter();
      const sort = randomSort();
      const limit = rnd(3) === 0 ? 1 + rnd(20) : 0;
      const skip = rnd(4) === 0 ? rnd(10) : 0;
      const { entries, stats } = coll.query(filter, { sort, limit, skip });
      if (stats.plan.kind !== 'collscan') indexed++;
      if (stats.plan.kind === 'or') unions++;
      const got = entries.map(([, d]) => d);
      const q = new Query(filter);
      let expected = docs.filter((d) => q.test(d));
      if (sort) expected = sortDocs(expected, sort);
      const context = JSON.stringify({ filter, sort, limit, skip, plan: stats.plan.kind });
      if (sort) {
        const window = expected.slice(skip, limit ? skip + limit : undefined);
        expect(`${context} ${sortKeys(got, sort)}`).toBe(`${context} ${sortKeys(window, sort)}`);
        if (!limit && !skip) expect(`${context} ${got.length}`).toBe(`${context} ${expected.length}`);
      } else if (!limit && !skip) {
        const ids = (xs: Doc[]) => xs.map((d) => d.i as number).sort((x, y) => x - y);
        expect(`${context} ${ids(got).join(',')}`).toBe(`${context} ${ids(expected).join(',')}`);
      } else {
        expect(`${context} ${got.length}`).toBe(
          `${context} ${expected.slice(skip, limit ? skip + limit : undefined).length}`,
        );
        const q2 = new Query(filter);
        expect(got.every((d) => q2.test(d))).toBe(true);
      }
    }
    // The random filters must actually exercise the index paths.
    expect(indexed).toBeGreaterThan(150);
    expect(unions).toBeGreaterThan(20);
  });

  embeddedOnly(
    "matches what a `$or`'s branch scans against that branch alone, and finds a document any branch matches",
    () => {
      const coll = new Collection('t', 'or', {}, { onPut: () => undefined, onDelete: () => undefined });
      coll.createIndex({ v: 2, key: { a: 1 }, name: 'a_1' });
      coll.createIndex({ v: 2, key: { b: 1, c: 1 }, name: 'b_1_c_1' });
      const docs = [
        { _id: 1, a: 1, b: 3, c: 1, d: 'q' }, // a = 1 but d is not 'p': found by the second branch only
        { _id: 2, a: 1, b: 0, c: 0, d: 'p' }, // the first branch
        { _id: 3, a: 2, b: 3, c: 9, d: 'p' }, // the second branch
        { _id: 4, a: 1, b: 3, c: 4, d: 'p' }, // both, returned once
        { _id: 5, a: 1, b: 0, c: 0, d: 'q' }, // neither
        { _id: 6, a: 2, b: 3, c: 9, d: 'q', e: 1 }, // the second branch, but not the rest of the filter
      ];
      for (const doc of docs) coll.insert(doc);
      const filter = {
        e: { $exists: false },
        $or: [
          { a: 1, d: 'p' },
          { b: 3, c: { $gte: 1, $lte: 9 } },
        ],
      };
      const { entries, stats } = coll.query(filter, {});
      expect(stats.plan.kind).toBe('or');
      expect(entries.map(([, d]) => d._id).sort()).toEqual([1, 2, 3, 4]);
      // The ranges of a catch-up batch: exact bounds, nothing left to match.
      const ranges = coll.query(
        {
          $or: [
            { b: 3, c: { $gt: 0, $lte: 4 } },
            { b: 0, c: 0 },
          ],
        },
        {},
      );
      expect(ranges.stats.plan.kind === 'or' && ranges.stats.plan.branches.map((b) => b.residual)).toEqual([
        undefined,
        undefined,
      ]);
      expect(ranges.entries.map(([, d]) => d._id).sort()).toEqual([1, 2, 4, 5]);
    },
  );

  embeddedOnly('orders values the way MongoDB does across types', () => {
    const ordered = [
      null,
      -1,
      2.5,
      3,
      'a',
      'b',
      { x: 1 },
      [1],
      new ObjectId('000000000000000000000001'),
      false,
      true,
      new Date(0),
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareValues)).toEqual(ordered);
  });
});
