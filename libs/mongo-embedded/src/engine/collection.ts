import { Query } from 'mingo';
import { compareValues, RANK, typeRank } from './bson-order';
import { CHECK_EVERY, Deadline } from './deadline';
import type { Doc } from './document';
import { MongoCommandError } from './errors';
import { Index, type IndexSpec } from './index-tree';
import { type Plan, planQuery, type SortSpec } from './planner';
import { sortDocs, TEXT_SCORE_SORT } from './sort';
import { TextIndex, type TermScores } from '../text/text-index';
import { runTextSearch } from '../text/text-search';
import { splitTextFilter } from '../text/text-query';
import { isTextSpec, sameTextOptions } from '../text/text-spec';

/** Observers of every stored change (the journal and transaction undo logs). */
export interface WriteObserver {
  onPut(coll: Collection, doc: Doc, prev: Doc | undefined): void;
  onDelete(coll: Collection, prev: Doc): void;
}

export interface QueryOptions {
  sort?: SortSpec;
  skip?: number;
  /** 0 or absent: no limit. */
  limit?: number;
}

export interface QueryStats {
  plan: Plan;
  docsExamined: number;
  keysExamined: number;
}

export interface QueryResult {
  entries: Array<[number, Doc]>;
  stats: QueryStats;
  /** Each returned document's text score (`$text` queries only). */
  textScores?: Map<Doc, number>;
}

function formatKeyValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const rank = typeRank(v);
  if (rank === RANK.objectId) return `ObjectId('${String(v)}')`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (Array.isArray(v)) return `[ ${v.map(formatKeyValue).join(', ')} ]`;
  if (rank === RANK.object) {
    const parts = Object.entries(v as Doc).map(([k, x]) => `${k}: ${formatKeyValue(x)}`);
    return `{ ${parts.join(', ')} }`;
  }
  return String(v);
}

/** One index's entries before and after a replacement (null: the document is not in the index). */
interface KeyChange {
  index: Index;
  old: unknown[][] | null;
  next: unknown[][] | null;
}

/** Whether two documents' key tuples for one index are the same entries, in the same order. */
function sameTuples(index: Index, a: readonly unknown[][] | null, b: readonly unknown[][] | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.length === b.length &&
    a.every((x, i) => x.length === (b[i] as unknown[]).length && index.sameValues(x, b[i] as unknown[]))
  );
}

/** One collection: documents by record id, plus its indexes (always `_id_`). */
export class Collection {
  readonly docs = new Map<number, Doc>();
  readonly indexes = new Map<string, Index>();
  readonly idIndex: Index;
  /** The collection's text index (at most one), maintained on every write. */
  textIndex: TextIndex | undefined;
  private nextRid = 1;
  /** Documents read by queries since creation (for tests and explain). */
  docsExamined = 0;

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Doc,
    private readonly observer: WriteObserver,
  ) {
    this.idIndex = new Index({ v: 2, key: { _id: 1 }, name: '_id_' });
    this.indexes.set('_id_', this.idIndex);
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  duplicateKeyError(index: Index, tuple: readonly unknown[]): MongoCommandError {
    const keyValue: Doc = {};
    index.fields.forEach((f, i) => {
      keyValue[f] = tuple[i];
    });
    const shown = index.fields.map((f, i) => `${f}: ${formatKeyValue(tuple[i])}`).join(', ');
    return new MongoCommandError(
      11000,
      `E11000 duplicate key error collection: ${this.ns} index: ${index.name} dup key: { ${shown} }`,
      { keyPattern: { ...index.spec.key }, keyValue },
    );
  }

  /** Adds an index over the existing documents; false when an identical one exists. */
  createIndex(spec: IndexSpec): boolean {
    if (isTextSpec(spec)) return this.createTextIndex(spec);
    const existing = this.indexes.get(spec.name);
    if (existing) {
      if (compareValues(existing.spec.key, spec.key) !== 0) {
        throw new MongoCommandError(
          86,
          `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.spec)}`,
        );
      }
      return false;
    }
    for (const idx of this.indexes.values()) {
      if (compareValues(idx.spec.key, spec.key) === 0) {
        if (
          Boolean(idx.spec.unique) !== Boolean(spec.unique) ||
          Boolean(idx.spec.sparse) !== Boolean(spec.sparse)
        ) {
          throw new MongoCommandError(
            85,
            `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(idx.spec)}`,
          );
        }
        return false;
      }
    }
    const index = new Index(spec);
    for (const [rid, doc] of this.docs) {
      const keys = index.keysFor(doc);
      if (!keys) continue;
      const conflict = index.findConflict(keys, rid);
      if (conflict) throw this.duplicateKeyError(index, conflict.tuple);
      index.add(rid, keys);
    }
    this.indexes.set(spec.name, index);
    return true;
  }

  /**
   * Adds the text index (one per collection, as in MongoDB): the same spec again is a no-op; the
   * same name or key with other options → 85/86; another text index → 67.
   */
  private createTextIndex(spec: IndexSpec): boolean {
    const current = this.textIndex;
    const sameName = this.indexes.get(spec.name);
    if (sameName && !(current && sameName.name === current.name)) {
      throw new MongoCommandError(
        86,
        `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
      );
    }
    if (current) {
      if (current.name === spec.name && sameTextOptions(current.spec, spec)) return false;
      if (compareValues(current.spec.key, spec.key) === 0) {
        throw new MongoCommandError(
          85,
          `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(current.spec)}`,
        );
      }
      throw new MongoCommandError(
        67,
        `only one text index per collection allowed, found existing text index "${current.name}"`,
      );
    }
    const text = new TextIndex(spec);
    for (const [rid, doc] of this.docs) text.add(rid, text.scoreDocument(doc));
    this.indexes.set(spec.name, new Index(spec));
    this.textIndex = text;
    return true;
  }

  dropIndex(name: string): void {
    if (name === '_id_') throw new MongoCommandError(72, 'cannot drop _id index');
    if (!this.indexes.delete(name)) throw new MongoCommandError(27, `index not found with name [${name}]`);
    if (this.textIndex?.name === name) this.textIndex = undefined;
  }

  /** Keys of `doc` for every maintained index, after checking unique constraints against other records. */
  private keysChecked(doc: Doc, rid: number): Map<Index, unknown[][] | null> {
    const keys = new Map<Index, unknown[][] | null>();
    for (const index of this.indexes.values()) {
      if (index.special) continue;
      const k = index.keysFor(doc);
      if (k) {
        const conflict = index.findConflict(k, rid);
        if (conflict) throw this.duplicateKeyError(index, conflict.tuple);
      }
      keys.set(index, k);
    }
    return keys;
  }

  /** Stores a new document (which must carry its `_id`); throws 11000 on a unique conflict. */
  insert(doc: Doc): number {
    const keys = this.keysChecked(doc, this.nextRid);
    // Scored before anything changes: a bad language override refuses the write (17261/17262).
    const terms = this.textIndex?.scoreDocument(doc);
    const rid = this.nextRid++;
    for (const [index, k] of keys) if (k) index.add(rid, k);
    if (terms) this.textIndex?.add(rid, terms);
    this.docs.set(rid, doc);
    this.observer.onPut(this, doc, undefined);
    return rid;
  }

  /**
   * The index entries a replacement changes: per index, the old and new key tuples, with unique
   * constraints checked for the new ones. An index whose keys are the same before and after (most
   * updates touch no indexed field: a chat's `lastSeq`, a read marker) is left out, so its entries are
   * neither re-checked nor removed and re-added.
   */
  private changedKeys(prev: Doc, doc: Doc, rid: number): KeyChange[] {
    const changes: KeyChange[] = [];
    for (const index of this.indexes.values()) {
      if (index.special) continue;
      const old = index.keysFor(prev);
      const next = index.keysFor(doc);
      if (sameTuples(index, old, next)) continue;
      if (next) {
        const conflict = index.findConflict(next, rid);
        if (conflict) throw this.duplicateKeyError(index, conflict.tuple);
      }
      changes.push({ index, old, next });
    }
    return changes;
  }

  /** Replaces the document at `rid`; throws 11000 on a unique conflict and leaves it unchanged. */
  replace(rid: number, doc: Doc): void {
    const prev = this.docs.get(rid);
    if (!prev) throw new MongoCommandError(1, 'record vanished during update');
    const changes = this.changedKeys(prev, doc, rid);
    const text = this.textIndex;
    let terms: { old: TermScores; next: TermScores } | undefined;
    if (text && !text.sameText(prev, doc))
      terms = { next: text.scoreDocument(doc), old: text.scoreDocument(prev) };
    for (const { index, old, next } of changes) {
      if (old) index.remove(rid, old);
      if (next) index.add(rid, next);
    }
    if (text && terms) {
      text.remove(rid, terms.old);
      text.add(rid, terms.next);
    }
    this.docs.set(rid, doc);
    this.observer.onPut(this, doc, prev);
  }

  remove(rid: number): Doc | undefined {
    const prev = this.docs.get(rid);
    if (!prev) return undefined;
    for (const index of this.indexes.values()) {
      const old = index.keysFor(prev);
      if (old) index.remove(rid, old);
    }
    this.textIndex?.remove(rid, this.textIndex.scoreDocument(prev));
    this.docs.delete(rid);
    this.observer.onDelete(this, prev);
    return prev;
  }

  /** The record id of the document with this `_id`. */
  ridById(id: unknown): number | undefined {
    const v = [id === undefined ? null : id];
    const it = this.idIndex.tree.lowerBound({ v, r: -Infinity });
    if (!it.isAccessible()) return undefined;
    const key = it.pointer[0];
    return compareValues(key.v[0], v[0]) === 0 ? key.r : undefined;
  }

  /**
   * Runs a filter through the best index (or a scan), then sorts, skips and limits, synchronously
   * (writes use this: their read and write are atomic). The deadline is checked at interrupt points.
   */
  query(filter: Doc, options: QueryOptions = {}, deadline: Deadline = Deadline.NONE): QueryResult {
    const run = this.run(filter, options);
    for (;;) {
      const step = run.next();
      if (step.done) return step.value;
      deadline.check();
    }
  }

  /**
   * The query as steps: it pauses (yields) every CHECK_EVERY documents or keys examined, so a
   * driver can check a deadline or let other commands run. While paused the collection may change:
   * index scans seek again (see Index.scan) and the document map's iterator is live, so a document
   * deleted meanwhile is skipped and one replaced meanwhile is read as it is now, as in MongoDB
   * after a yield.
   */
  *run(filter: Doc, options: QueryOptions = {}): Generator<void, QueryResult, void> {
    const text = splitTextFilter(filter);
    if (text) return yield* runTextSearch(this, text, options);
    if (options.sort?.some(([field]) => field === TEXT_SCORE_SORT)) {
      throw new MongoCommandError(40218, 'query requires text score metadata, but it is not available');
    }
    const plan = planQuery(this.indexes.values(), filter, options.sort);
    // An index scan matches only what its bounds leave undecided (a `$or`'s branches, each its own); other plans
    // match the whole filter.
    const toMatch = plan.kind === 'ixscan' ? plan.residual : plan.kind === 'or' ? undefined : filter;
    const matcher = toMatch && Object.keys(toMatch).length > 0 ? new Query(toMatch) : undefined;
    const skip = options.skip ?? 0;
    const want = options.limit ? skip + options.limit : Infinity;
    const entries: Array<[number, Doc]> = [];
    let examined = 0;
    let keysExamined = 0;
    let work = 0;
    const needsSort = options.sort !== undefined && options.sort.length > 0;
    if (plan.kind === 'ixscan') {
      const canStop = plan.providesSort || !needsSort;
      // A multikey index holds a record under several keys, and a record updated while the scan
      // is paused may reappear further on: each is returned once.
      const seen = new Set<number>();
      const keysBefore = plan.index.keysExamined;
      const test = matcher;
      for (const rid of plan.index.scan(plan.intervals, plan.reverse)) {
        if (++work % CHECK_EVERY === 0) yield;
        if (seen.has(rid)) continue;
        seen.add(rid);
        const doc = this.docs.get(rid);
        if (!doc) continue;
        examined++;
        if (test && !test.test(doc)) continue;
        entries.push([rid, doc]);
        if (canStop && entries.length >= want) break;
      }
      keysExamined = plan.index.keysExamined - keysBefore;
    } else if (plan.kind === 'or') {
      const seen = new Set<number>();
      for (const branch of plan.branches) {
        const keysBefore = branch.index.keysExamined;
        const test = branch.residual ? new Query(branch.residual) : undefined;
        for (const rid of branch.index.scan(branch.intervals, false)) {
          if (++work % CHECK_EVERY === 0) yield;
          if (seen.has(rid)) continue;
          const doc = this.docs.get(rid);
          if (!doc) continue;
          examined++;
          if (test && !test.test(doc)) continue;
          // Only once it matched: another branch may yield it too, and match it there.
          seen.add(rid);
          entries.push([rid, doc]);
        }
        keysExamined += branch.index.keysExamined - keysBefore;
      }
    } else {
      for (const entry of this.docs) {
        if (++work % CHECK_EVERY === 0) yield;
        examined++;
        if (matcher && !matcher.test(entry[1])) continue;
        entries.push(entry);
        if (!needsSort && entries.length >= want) break;
      }
    }
    this.docsExamined += examined;
    let result = entries;
    if (needsSort && !(plan.kind === 'ixscan' && plan.providesSort)) {
      // An interrupt point before the in-memory sort, the last long step.
      yield;
      const order = new Map<Doc, number>(entries.map(([rid, doc]) => [doc, rid]));
      result = sortDocs(
        entries.map(([, d]) => d),
        options.sort as SortSpec,
      ).map((d) => [order.get(d) as number, d]);
    }
    if (skip > 0 || want !== Infinity) result = result.slice(skip, want);
    return { entries: result, stats: { plan, docsExamined: examined, keysExamined } };
  }
}
