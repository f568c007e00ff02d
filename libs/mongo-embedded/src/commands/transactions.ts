import type { Document } from 'bson';
import { MongoCommandError } from '../engine/errors';
import type { Store, UndoEntry } from '../engine/store';

/** MongoDB's transactionLifetimeLimitSeconds default. */
const TXN_LIFETIME_MS = 60_000;

interface Txn {
  txnNumber: number;
  undo: UndoEntry[];
  active: boolean;
  startedAt: number;
}

function bytesHex(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  const bin = v as { buffer?: Uint8Array; position?: number };
  if (bin?.buffer instanceof Uint8Array)
    return Buffer.from(bin.buffer.subarray(0, bin.position ?? bin.buffer.length)).toString('hex');
  return JSON.stringify(v);
}

export function sessionKey(lsid: unknown): string | undefined {
  if (!lsid || typeof lsid !== 'object') return undefined;
  return bytesHex((lsid as Document).id);
}

function noSuchTransaction(txnNumber: unknown): MongoCommandError {
  return new MongoCommandError(
    251,
    `Transaction with txnNumber ${String(txnNumber)} has been aborted or does not exist.`,
    {
      errorLabels: ['TransientTransactionError'],
    },
  );
}

/**
 * Multi-document transactions: writes apply immediately (no isolation: other sessions see them at
 * once) and are undone on abort, so a transaction is atomic only in the sense that it rolls back.
 */
export class TransactionRegistry {
  private readonly sessions = new Map<string, Txn>();

  constructor(private readonly store: Store) {}

  /** The undo log a statement of an open transaction records into, or undefined outside one. */
  statement(cmd: Document): UndoEntry[] | undefined {
    if (cmd.autocommit !== false || cmd.txnNumber === undefined) return undefined;
    const key = sessionKey(cmd.lsid);
    if (!key) return undefined;
    const txnNumber = Number(cmd.txnNumber);
    const current = this.sessions.get(key);
    if (cmd.startTransaction === true) {
      if (current?.active) this.store.rollback(current.undo);
      const txn: Txn = { txnNumber, undo: [], active: true, startedAt: Date.now() };
      this.sessions.set(key, txn);
      return txn.undo;
    }
    if (!current || current.txnNumber !== txnNumber || !current.active) throw noSuchTransaction(txnNumber);
    return current.undo;
  }

  commit(cmd: Document): void {
    const txn = this.sessions.get(sessionKey(cmd.lsid) ?? '');
    if (txn && txn.txnNumber === Number(cmd.txnNumber)) {
      txn.active = false;
      txn.undo = [];
    }
  }

  abort(cmd: Document): void {
    const txn = this.sessions.get(sessionKey(cmd.lsid) ?? '');
    if (!txn || txn.txnNumber !== Number(cmd.txnNumber) || !txn.active)
      throw noSuchTransaction(cmd.txnNumber);
    txn.active = false;
    this.store.rollback(txn.undo);
    txn.undo = [];
  }

  /** Ends sessions, rolling back what their open transactions wrote. */
  end(lsids: readonly unknown[]): void {
    for (const lsid of lsids) {
      const key = sessionKey(lsid);
      if (!key) continue;
      const txn = this.sessions.get(key);
      if (txn?.active) this.store.rollback(txn.undo);
      this.sessions.delete(key);
    }
  }

  /** Aborts transactions open for longer than MongoDB's default lifetime. */
  sweep(now: number): void {
    for (const [key, txn] of this.sessions) {
      if (now - txn.startedAt <= TXN_LIFETIME_MS) continue;
      if (txn.active) this.store.rollback(txn.undo);
      this.sessions.delete(key);
    }
  }
}
