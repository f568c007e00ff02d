import { ClassBound, RANK } from './bson-order';
import { Collection, type WriteObserver } from './collection';
import type { Doc } from './document';
import { MongoCommandError } from './errors';
import type { IndexSpec } from './index-tree';

/** One durable change, as the journal records and replays it. */
export type MutationRecord =
  | { op: 'put'; db: string; coll: string; doc: Doc }
  | { op: 'del'; db: string; coll: string; id: unknown }
  | { op: 'createColl'; db: string; coll: string; options: Doc }
  | { op: 'dropColl'; db: string; coll: string }
  | { op: 'dropDb'; db: string }
  | { op: 'createIndex'; db: string; coll: string; spec: IndexSpec }
  | { op: 'dropIndex'; db: string; coll: string; name: string };

/** The state needed to undo one write of a transaction. */
export interface UndoEntry {
  coll: Collection;
  id: unknown;
  /** The document before the write; undefined when the write inserted it. */
  prev: Doc | undefined;
}

function validateName(db: string, coll: string): void {
  if (!db || /[/\\. "$]/.test(db)) throw new MongoCommandError(73, `Invalid database name: '${db}'`);
  if (!coll || coll.includes('$') || coll.startsWith('.') || coll.includes('\0')) {
    throw new MongoCommandError(73, `Invalid collection name: ${db}.${coll}`);
  }
}

/** All databases and collections; every change flows through here to the journal. */
export class Store implements WriteObserver {
  readonly dbs = new Map<string, Map<string, Collection>>();
  /** Receives every mutation (set by persistence). */
  journal: ((rec: MutationRecord) => void) | undefined;
  /** Collects undo entries while a transaction's statement runs. */
  undo: UndoEntry[] | undefined;

  onPut(coll: Collection, doc: Doc, prev: Doc | undefined): void {
    this.journal?.({ op: 'put', db: coll.db, coll: coll.name, doc });
    this.undo?.push({ coll, id: doc._id, prev });
  }

  onDelete(coll: Collection, prev: Doc): void {
    this.journal?.({ op: 'del', db: coll.db, coll: coll.name, id: prev._id });
    this.undo?.push({ coll, id: prev._id, prev });
  }

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created implicitly (as a write to a new collection does in MongoDB). */
  ensureCollection(db: string, name: string): Collection {
    return this.collection(db, name) ?? this.createCollection(db, name, {});
  }

  createCollection(db: string, name: string, options: Doc): Collection {
    validateName(db, name);
    let colls = this.dbs.get(db);
    if (!colls) {
      colls = new Map();
      this.dbs.set(db, colls);
    }
    if (colls.has(name)) throw new MongoCommandError(48, `Collection ${db}.${name} already exists.`);
    const coll = new Collection(db, name, options, this);
    colls.set(name, coll);
    this.journal?.({ op: 'createColl', db, coll: name, options });
    return coll;
  }

  dropCollection(db: string, name: string): boolean {
    const colls = this.dbs.get(db);
    if (!colls?.delete(name)) return false;
    if (colls.size === 0) this.dbs.delete(db);
    this.journal?.({ op: 'dropColl', db, coll: name });
    return true;
  }

  dropDatabase(db: string): void {
    if (!this.dbs.delete(db)) return;
    this.journal?.({ op: 'dropDb', db });
  }

  createIndex(coll: Collection, spec: IndexSpec): boolean {
    const created = coll.createIndex(spec);
    if (created) this.journal?.({ op: 'createIndex', db: coll.db, coll: coll.name, spec });
    return created;
  }

  dropIndex(coll: Collection, name: string): void {
    coll.dropIndex(name);
    this.journal?.({ op: 'dropIndex', db: coll.db, coll: coll.name, name });
  }

  /** Replays one journal record (idempotent: puts and deletes are by `_id`). */
  apply(rec: MutationRecord): void {
    switch (rec.op) {
      case 'put': {
        const coll = this.ensureCollection(rec.db, rec.coll);
        const rid = coll.ridById(rec.doc._id);
        if (rid === undefined) coll.insert(rec.doc);
        else coll.replace(rid, rec.doc);
        return;
      }
      case 'del': {
        const coll = this.collection(rec.db, rec.coll);
        const rid = coll?.ridById(rec.id);
        if (coll && rid !== undefined) coll.remove(rid);
        return;
      }
      case 'createColl':
        if (!this.collection(rec.db, rec.coll)) this.createCollection(rec.db, rec.coll, rec.options);
        return;
      case 'dropColl':
        this.dropCollection(rec.db, rec.coll);
        return;
      case 'dropDb':
        this.dropDatabase(rec.db);
        return;
      case 'createIndex':
        this.createIndex(this.ensureCollection(rec.db, rec.coll), rec.spec);
        return;
      case 'dropIndex': {
        const coll = this.collection(rec.db, rec.coll);
        if (coll?.indexes.has(rec.name)) this.dropIndex(coll, rec.name);
        return;
      }
    }
  }

  /**
   * Undoes a transaction's writes, newest first. A restore that a later write outside the
   * transaction made impossible (a unique key taken meanwhile) is skipped and returned.
   */
  rollback(entries: readonly UndoEntry[]): MongoCommandError[] {
    const failures: MongoCommandError[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const { coll, id, prev } = entries[i] as UndoEntry;
      if (this.collection(coll.db, coll.name) !== coll) continue;
      const rid = coll.ridById(id);
      try {
        if (prev === undefined) {
          if (rid !== undefined) coll.remove(rid);
        } else if (rid !== undefined) coll.replace(rid, prev);
        else coll.insert(prev);
      } catch (err) {
        if (!(err instanceof MongoCommandError)) throw err;
        failures.push(err);
      }
    }
    return failures;
  }

  /** Deletes documents past their TTL; returns how many. */
  sweepExpired(now: Date): number {
    let removed = 0;
    for (const colls of this.dbs.values()) {
      for (const coll of colls.values()) {
        for (const index of coll.indexes.values()) {
          const ttl = index.spec.expireAfterSeconds;
          if (typeof ttl !== 'number' || index.fields.length !== 1 || index.special) continue;
          const cutoff = new Date(now.getTime() - ttl * 1000);
          const low = { v: [new ClassBound(RANK.date, -1)], r: -Infinity };
          const high = { v: [cutoff], r: Infinity };
          const [start, end] =
            (index.dirs[0] as number) > 0
              ? [low, high]
              : [
                  { ...high, r: -Infinity },
                  { ...low, r: Infinity },
                ];
          const rids = [...new Set(index.scan([{ start, end }], false))];
          for (const rid of rids) if (coll.remove(rid)) removed++;
        }
      }
    }
    return removed;
  }
}
