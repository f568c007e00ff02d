import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  ftruncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Document } from 'bson';
import { MongoCommandError } from '../engine/errors';
import type { MutationRecord, Store } from '../engine/store';
import { frameRecord, readRecords } from './records';

export interface PersistenceOptions {
  /** How long an acknowledged write may sit in the OS page cache before fsync (default 1000 ms). */
  fsyncIntervalMs?: number;
  /** The journal is compacted into a snapshot once it exceeds max(this, snapshot size). Default 32 MiB. */
  compactThresholdBytes?: number;
}

const SNAPSHOT = 'snapshot.bson';
const SNAPSHOT_TMP = 'snapshot.bson.tmp';
const LOCK = 'LOCK';
const FORMAT = 1;
const WRITE_CHUNK = 4 * 1024 * 1024;
/**
 * The journal and snapshot hold password and token hashes and every message: readable by the
 * owner only, whatever the umask (docs/security.md, exposure).
 */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

function journalName(gen: number): string {
  return `journal-${gen}.log`;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Tightens a data directory written by an earlier version (or under a lax umask) to owner-only. */
function restrictModes(dir: string): void {
  chmodSync(dir, DIR_MODE);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) chmodSync(join(dir, entry.name), FILE_MODE);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Durability for a Store: an append-only journal of mutations plus a compacted snapshot.
 *
 * - Every acknowledged write is written (write(2)) to the journal before its reply is sent, so a
 *   killed process loses nothing acknowledged; the journal is fsync'ed at most `fsyncIntervalMs`
 *   after a write, so a machine crash may lose that last interval.
 * - Records are length + crc32 framed: a torn last record is ignored (and cut off) on load.
 * - Compaction writes `snapshot.bson.tmp`, fsyncs it, renames it over `snapshot.bson` and starts a
 *   journal of the next generation; the snapshot names its generation, so a crash at any point
 *   leaves either the old snapshot + old journal or the new snapshot (+ new journal).
 */
export class Persistence {
  private fd: number | undefined;
  private gen = 0;
  private pending: Buffer[] = [];
  private journalBytes = 0;
  private snapshotBytes = 0;
  private fsyncTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly fsyncIntervalMs: number;
  private readonly compactThreshold: number;

  private constructor(
    private readonly dir: string,
    private readonly store: Store,
    options: PersistenceOptions,
  ) {
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 1000;
    this.compactThreshold = options.compactThresholdBytes ?? 32 * 1024 * 1024;
  }

  /** Opens (or creates) a data directory, loads it into `store` and starts journaling. */
  static open(dir: string, store: Store, options: PersistenceOptions = {}): Persistence {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    restrictModes(dir);
    const p = new Persistence(dir, store, options);
    p.lock();
    try {
      p.load();
    } catch (err) {
      p.unlock();
      throw err;
    }
    store.journal = (rec) => p.record(rec);
    return p;
  }

  private lock(): void {
    const path = join(this.dir, LOCK);
    if (existsSync(path)) {
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
        throw new Error(`data directory ${this.dir} is in use by process ${pid}`);
      }
      if (pid === process.pid) throw new Error(`data directory ${this.dir} is already open in this process`);
    }
    writeFileSync(path, String(process.pid), { mode: FILE_MODE });
    chmodSync(path, FILE_MODE);
  }

  private unlock(): void {
    const path = join(this.dir, LOCK);
    if (existsSync(path)) unlinkSync(path);
  }

  private load(): void {
    const snapshotPath = join(this.dir, SNAPSHOT);
    if (existsSync(snapshotPath)) {
      const buf = readFileSync(snapshotPath);
      const { records, validBytes } = readRecords(buf);
      const head = records[0];
      const tail = records[records.length - 1];
      if (validBytes !== buf.length || !head || head.snapshot !== FORMAT || !tail || tail.end !== true) {
        throw new MongoCommandError(1, `snapshot ${snapshotPath} is damaged; refusing to start`);
      }
      this.gen = Number(head.gen);
      for (let i = 1; i < records.length - 1; i++) this.store.apply(records[i] as MutationRecord);
      this.snapshotBytes = buf.length;
    }
    for (const name of readdirSync(this.dir)) {
      const m = /^journal-(\d+)\.log$/.exec(name);
      if ((m && Number(m[1]) !== this.gen) || name === SNAPSHOT_TMP) unlinkSync(join(this.dir, name));
    }
    const journalPath = join(this.dir, journalName(this.gen));
    this.fd = openSync(journalPath, existsSync(journalPath) ? 'r+' : 'w+', FILE_MODE);
    const buf = readFileSync(journalPath);
    const { records, validBytes } = readRecords(buf);
    for (const rec of records) this.store.apply(rec as MutationRecord);
    if (validBytes !== buf.length) {
      ftruncateSync(this.fd, validBytes);
      fsyncSync(this.fd);
    }
    closeSync(this.fd);
    this.fd = openSync(journalPath, 'a', FILE_MODE);
    this.journalBytes = validBytes;
  }

  private record(rec: MutationRecord): void {
    this.pending.push(frameRecord(rec as Document));
  }

  /** Writes buffered records to the journal (called before each reply), compacting when due. */
  flush(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    writeSync(this.fd, data);
    this.journalBytes += data.length;
    this.dirty = true;
    if (this.journalBytes > Math.max(this.compactThreshold, this.snapshotBytes)) this.compact();
    else this.scheduleFsync();
  }

  private scheduleFsync(): void {
    if (this.fsyncTimer || this.fsyncIntervalMs <= 0) {
      if (this.fsyncIntervalMs <= 0) this.sync();
      return;
    }
    this.fsyncTimer = setTimeout(() => {
      this.fsyncTimer = undefined;
      this.sync();
    }, this.fsyncIntervalMs);
    this.fsyncTimer.unref();
  }

  private sync(): void {
    if (this.fd !== undefined && this.dirty) {
      fsyncSync(this.fd);
      this.dirty = false;
    }
  }

  /** Writes the whole store as a snapshot of the next generation and starts an empty journal. */
  compact(): void {
    if (this.fd === undefined) return;
    this.flushPendingOnly();
    const nextGen = this.gen + 1;
    const tmpPath = join(this.dir, SNAPSHOT_TMP);
    const fd = openSync(tmpPath, 'w', FILE_MODE);
    let bytes = 0;
    try {
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      const emit = (doc: Document): void => {
        const framed = frameRecord(doc);
        chunk.push(framed);
        chunkBytes += framed.length;
        if (chunkBytes >= WRITE_CHUNK) {
          writeSync(fd, Buffer.concat(chunk));
          bytes += chunkBytes;
          chunk = [];
          chunkBytes = 0;
        }
      };
      emit({ snapshot: FORMAT, gen: nextGen, createdAt: new Date() });
      for (const [db, colls] of this.store.dbs) {
        for (const coll of colls.values()) {
          emit({ op: 'createColl', db, coll: coll.name, options: coll.options });
          for (const index of coll.indexes.values()) {
            if (index.name !== '_id_') emit({ op: 'createIndex', db, coll: coll.name, spec: index.spec });
          }
          for (const doc of coll.docs.values()) emit({ op: 'put', db, coll: coll.name, doc });
        }
      }
      emit({ end: true });
      writeSync(fd, Buffer.concat(chunk));
      bytes += chunkBytes;
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmpPath, join(this.dir, SNAPSHOT));
    fsyncDir(this.dir);
    const oldFd = this.fd;
    const oldPath = join(this.dir, journalName(this.gen));
    this.fd = openSync(join(this.dir, journalName(nextGen)), 'a', FILE_MODE);
    this.gen = nextGen;
    closeSync(oldFd);
    unlinkSync(oldPath);
    this.journalBytes = 0;
    this.snapshotBytes = bytes;
    this.dirty = false;
  }

  private flushPendingOnly(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    writeSync(this.fd, Buffer.concat(this.pending));
    this.pending = [];
  }

  /** Flushes, fsyncs and releases the directory. */
  close(): void {
    if (this.fd === undefined) return;
    this.flushPendingOnly();
    this.dirty = true;
    this.sync();
    if (this.fsyncTimer) clearTimeout(this.fsyncTimer);
    this.fsyncTimer = undefined;
    closeSync(this.fd);
    this.fd = undefined;
    this.store.journal = undefined;
    this.unlock();
  }
}
