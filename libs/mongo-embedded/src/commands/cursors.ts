import { calculateObjectSize, type Document, Long } from 'bson';
import { MongoCommandError } from '../engine/errors';

const DEFAULT_FIRST_BATCH = 101;
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;
/** MongoDB's cursorTimeoutMillis default. */
export const CURSOR_IDLE_MS = 10 * 60 * 1000;

interface OpenCursor {
  readonly ns: string;
  readonly docs: readonly Document[];
  pos: number;
  lastUsed: number;
}

/** Server-side cursors: materialised results handed out in batches. */
export class CursorRegistry {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = Math.floor(Math.random() * 1_000_000) + 1;

  private take(cursor: OpenCursor, batchSize: number | undefined): Document[] {
    const limit = batchSize && batchSize > 0 ? batchSize : Infinity;
    const batch: Document[] = [];
    let bytes = 0;
    while (cursor.pos < cursor.docs.length && batch.length < limit) {
      const doc = cursor.docs[cursor.pos] as Document;
      bytes += calculateObjectSize(doc);
      if (batch.length > 0 && bytes > MAX_BATCH_BYTES) break;
      batch.push(doc);
      cursor.pos++;
    }
    return batch;
  }

  /** The first batch of `docs`; a cursor stays open when more remain (and singleBatch is off). */
  first(ns: string, docs: readonly Document[], batchSize: number | undefined, singleBatch = false): Document {
    const cursor: OpenCursor = { ns, docs, pos: 0, lastUsed: Date.now() };
    const firstBatch = this.take(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = 0;
    if (!singleBatch && cursor.pos < docs.length) {
      id = this.nextId++;
      this.open.set(id, cursor);
    }
    return { cursor: { firstBatch, id: Long.fromNumber(id), ns }, ok: 1 };
  }

  getMore(id: number, ns: string, batchSize: number | undefined): Document {
    const cursor = this.open.get(id);
    if (!cursor) throw new MongoCommandError(43, `cursor id ${id} not found`);
    if (cursor.ns !== ns) {
      throw new MongoCommandError(
        13,
        `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`,
      );
    }
    cursor.lastUsed = Date.now();
    const nextBatch = this.take(cursor, batchSize);
    let outId = id;
    if (cursor.pos >= cursor.docs.length) {
      this.open.delete(id);
      outId = 0;
    }
    return { cursor: { nextBatch, id: Long.fromNumber(outId), ns }, ok: 1 };
  }

  kill(ids: readonly number[]): { killed: number[]; notFound: number[] } {
    const killed: number[] = [];
    const notFound: number[] = [];
    for (const id of ids) (this.open.delete(id) ? killed : notFound).push(id);
    return { killed, notFound };
  }

  /** Drops cursors idle for longer than MongoDB's default timeout. */
  sweep(now: number): void {
    for (const [id, cursor] of this.open) if (now - cursor.lastUsed > CURSOR_IDLE_MS) this.open.delete(id);
  }

  get size(): number {
    return this.open.size;
  }
}
