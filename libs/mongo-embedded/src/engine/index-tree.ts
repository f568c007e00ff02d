import { OrderedMap } from '@js-sdsl/ordered-map';
import { Query } from 'mingo';
import { compareValues } from './bson-order';
import { type Doc, pathValues } from './document';
import { MongoCommandError } from './errors';

/** An index entry: the key tuple and the record id it points at. */
export interface IndexKey {
  readonly v: readonly unknown[];
  readonly r: number;
}

/** Tokens that sort before / after every value whatever the field's direction (scan bounds only). */
export const ABS_LOW: unique symbol = Symbol('absLow');
export const ABS_HIGH: unique symbol = Symbol('absHigh');

/** The index definition as listIndexes reports it. */
export interface IndexSpec extends Doc {
  v: number;
  key: Doc;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Doc;
  expireAfterSeconds?: number;
}

export interface ScanInterval {
  readonly start: IndexKey;
  readonly end: IndexKey;
}

/** A secondary (or the _id) index: an ordered tree of BSON-ordered key tuples. */
export class Index {
  readonly fields: readonly string[];
  readonly paths: readonly (readonly string[])[];
  readonly dirs: readonly number[];
  /** Text, 2dsphere and similar indexes are recorded but neither maintained nor used. */
  readonly special: boolean;
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Query | undefined;
  readonly tree: OrderedMap<IndexKey, true>;
  multikey = false;
  keysExamined = 0;
  /** Bumped by every change to the tree (a paused scan then seeks again). */
  version = 0;

  constructor(readonly spec: IndexSpec) {
    const entries = Object.entries(spec.key);
    this.fields = entries.map(([f]) => f);
    this.paths = this.fields.map((f) => f.split('.'));
    this.special = entries.some(([, d]) => typeof d !== 'number');
    this.dirs = entries.map(([, d]) => (typeof d === 'number' && d < 0 ? -1 : 1));
    this.unique = (spec.unique === true || spec.name === '_id_') && !this.special;
    this.sparse = spec.sparse === true;
    this.partial = spec.partialFilterExpression ? new Query(spec.partialFilterExpression) : undefined;
    // Positions kept (enableIndex) so that countIn can size a scan in O(log n) before running it.
    this.tree = new OrderedMap<IndexKey, true>([], (a, b) => this.compareKeys(a, b), true);
  }

  get name(): string {
    return this.spec.name;
  }

  /** Compares the value tuples in index order, then record ids. */
  compareKeys(a: IndexKey, b: IndexKey): number {
    const n = this.dirs.length;
    for (let i = 0; i < n; i++) {
      const c = this.compareComponent(a.v[i], b.v[i], this.dirs[i] as number);
      if (c !== 0) return c;
    }
    return a.r < b.r ? -1 : a.r > b.r ? 1 : 0;
  }

  private compareComponent(x: unknown, y: unknown, dir: number): number {
    if (x === ABS_LOW) return y === ABS_LOW ? 0 : -1;
    if (x === ABS_HIGH) return y === ABS_HIGH ? 0 : 1;
    if (y === ABS_LOW) return 1;
    if (y === ABS_HIGH) return -1;
    const c = compareValues(x, y);
    return dir < 0 ? -c : c;
  }

  /** Whether two key tuples hold equal values, field by field (BSON comparison order). */
  sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
    for (let i = 0; i < a.length; i++) if (compareValues(a[i], b[i]) !== 0) return false;
    return true;
  }

  /** The key tuples a document contributes (several for arrays), or null when the index skips it. */
  keysFor(doc: Doc): unknown[][] | null {
    if (this.special) return null;
    if (this.partial && !this.partial.test(doc)) return null;
    const perField: unknown[][] = [];
    let multikeyFields = 0;
    let allMissing = true;
    for (const path of this.paths) {
      const { values, multikey } = pathValues(doc, path);
      if (multikey) multikeyFields++;
      const normalised = values.map((v) => (v === undefined ? null : v));
      if (values.some((v) => v !== undefined)) allMissing = false;
      perField.push(normalised);
    }
    if (this.sparse && allMissing) return null;
    if (multikeyFields > 1) {
      const arrays = this.fields.filter((_, i) => (perField[i] as unknown[]).length > 1);
      if (arrays.length > 1) {
        throw new MongoCommandError(171, `cannot index parallel arrays [${arrays[1]}] [${arrays[0]}]`);
      }
    }
    if (multikeyFields > 0) this.multikey = true;
    let tuples: unknown[][] = [[]];
    for (const values of perField) {
      const next: unknown[][] = [];
      for (const t of tuples) for (const v of values) next.push([...t, v]);
      tuples = next;
    }
    if (tuples.length > 1) {
      const unique: unknown[][] = [];
      for (const t of tuples) if (!unique.some((u) => this.sameValues(u, t))) unique.push(t);
      tuples = unique;
    }
    return tuples;
  }

  /** A record other than `rid` holding one of these keys (unique indexes only). */
  findConflict(tuples: readonly unknown[][], rid: number): { tuple: unknown[]; rid: number } | undefined {
    if (!this.unique) return undefined;
    for (const tuple of tuples) {
      const it = this.tree.lowerBound({ v: tuple, r: -Infinity });
      while (it.isAccessible()) {
        const key = it.pointer[0];
        if (!this.sameValues(key.v, tuple)) break;
        if (key.r !== rid) return { tuple, rid: key.r };
        it.next();
      }
    }
    return undefined;
  }

  add(rid: number, tuples: readonly unknown[][]): void {
    this.version++;
    for (const v of tuples) this.tree.setElement({ v, r: rid }, true);
  }

  remove(rid: number, tuples: readonly unknown[][]): void {
    this.version++;
    for (const v of tuples) this.tree.eraseElementByKey({ v, r: rid });
  }

  /**
   * Record ids within the intervals, in index order (or reversed). The consumer may pause between
   * two ids and let writes run (a yielding read): a changed tree invalidates the iterator, so the
   * scan then seeks again from the last key it returned, as MongoDB restores a cursor after a yield.
   */
  *scan(intervals: readonly ScanInterval[], reverse: boolean): Generator<number> {
    if (!reverse) {
      for (const iv of intervals) {
        let it = this.tree.lowerBound(iv.start);
        while (it.isAccessible()) {
          const key = it.pointer[0];
          if (this.compareKeys(key, iv.end) > 0) break;
          this.keysExamined++;
          const version = this.version;
          yield key.r;
          if (this.version !== version) it = this.tree.upperBound(key);
          else it.next();
        }
      }
      return;
    }
    // pre() on the first element throws instead of leaving the tree: stop there by identity.
    let firstKey = this.tree.front()?.[0];
    for (let i = intervals.length - 1; i >= 0; i--) {
      const iv = intervals[i] as ScanInterval;
      let it = this.tree.reverseLowerBound(iv.end);
      while (it.isAccessible()) {
        const key = it.pointer[0];
        if (this.compareKeys(key, iv.start) < 0) break;
        this.keysExamined++;
        const version = this.version;
        yield key.r;
        if (this.version !== version) {
          it = this.tree.reverseUpperBound(key);
          firstKey = this.tree.front()?.[0];
          continue;
        }
        if (key === firstKey) break;
        it.pre();
      }
    }
  }

  /** How many keys the intervals hold, in O(log n) per interval (no scan). */
  countIn(intervals: readonly ScanInterval[]): number {
    const size = this.tree.size();
    let n = 0;
    for (const iv of intervals) {
      const lo = this.tree.lowerBound(iv.start);
      const hi = this.tree.upperBound(iv.end);
      n += (hi.isAccessible() ? hi.index : size) - (lo.isAccessible() ? lo.index : size);
    }
    return n;
  }

  get size(): number {
    return this.tree.size();
  }
}
