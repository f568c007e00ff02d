import type { Document } from 'bson';
import type { Store } from '../engine/store';
import type { CursorRegistry } from './cursors';
import type { TransactionRegistry } from './transactions';

export interface ServerInfo {
  readonly host: string;
  readonly port: number;
  readonly startedAt: Date;
}

/** What a command handler sees of the server and its connection. */
export interface CommandContext {
  readonly store: Store;
  readonly cursors: CursorRegistry;
  readonly txns: TransactionRegistry;
  readonly server: ServerInfo;
  readonly connectionId: number;
  /** The database the command targets (`$db`). */
  readonly db: string;
}

/** Handlers are synchronous: each command is atomic with respect to every other one. */
export type CommandHandler = (cmd: Document, ctx: CommandContext) => Document;
