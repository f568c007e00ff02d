import type { Document } from 'bson';

/**
 * What `serverStatus` reports of the commands received since the store started, with mongod's semantics
 * (serverStatus `opcounters` and `metrics.commands`), so a tool that reads them from a real MongoDB (mongostat,
 * the bench's store round trips per message) reads the same figures here:
 * - `opcounters.insert`: documents received in `insert` commands; `update` and `delete`: statements received in
 *   `update` / `delete` commands; `query`: `find` commands; `getmore`: `getMore` commands; `command`: every
 *   other command (mongod's write, find and getMore commands do not count there: `shouldAffectCommandCounter`).
 * - `metrics.commands.<name>`: `{ total, failed }` per command name, `failed` when the reply has `ok: 0`.
 * Counted whether or not the command succeeds, as mongod counts an operation when it is received.
 */
export interface OpCounters {
  insert: number;
  query: number;
  update: number;
  delete: number;
  getmore: number;
  command: number;
}

export class CommandCounters {
  readonly opcounters: OpCounters = { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 };
  private readonly byName = new Map<string, { total: number; failed: number }>();

  /** Counts one received command (before it runs). */
  received(name: string, cmd: Document): void {
    const ops = this.opcounters;
    switch (name) {
      case 'insert':
        ops.insert += lengthOf(cmd.documents);
        break;
      case 'update':
        ops.update += lengthOf(cmd.updates);
        break;
      case 'delete':
        ops.delete += lengthOf(cmd.deletes);
        break;
      case 'find':
        ops.query += 1;
        break;
      case 'getMore':
        ops.getmore += 1;
        break;
      default:
        ops.command += 1;
    }
    const entry = this.byName.get(name);
    if (entry) entry.total += 1;
    else this.byName.set(name, { total: 1, failed: 0 });
  }

  /** Marks the last received `name` as failed (its reply had `ok: 0`). */
  failed(name: string): void {
    const entry = this.byName.get(name);
    if (entry) entry.failed += 1;
  }

  /** `metrics.commands` as serverStatus reports it (command names in alphabetical order). */
  commands(): Record<string, { total: number; failed: number }> {
    return Object.fromEntries(
      [...this.byName].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, c]) => [name, { ...c }]),
    );
  }
}

function lengthOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}
