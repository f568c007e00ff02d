import type { Document } from 'bson';
import type { AuthState, ScramAuthenticator } from '../auth/scram';
import type { Store } from '../engine/store';
import type { CommandCounters } from './command-counters';
import type { CursorRegistry } from './cursors';
import type { TransactionRegistry } from './transactions';

export interface ServerInfo {
  readonly host: string;
  readonly port: number;
  readonly startedAt: Date;
  /** Commands received since the start (serverStatus `opcounters`, `metrics.commands`). */
  readonly counters: CommandCounters;
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
  /** The store's user when it requires credentials (options.auth), else undefined. */
  readonly authenticator: ScramAuthenticator | undefined;
  /** This connection's authentication state. */
  readonly auth: AuthState;
}

/**
 * Writes and admin commands are synchronous: each is atomic with respect to every other command.
 * Reads may answer with a promise when they run long: they then proceed in time slices between
 * which other commands run (engine/cooperative.ts).
 */
export type CommandHandler = (cmd: Document, ctx: CommandContext) => Document | Promise<Document>;
