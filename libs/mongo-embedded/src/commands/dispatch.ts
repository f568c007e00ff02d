import type { Document } from 'bson';
import { toMongoError } from '../engine/errors';
import type { CommandContext, CommandHandler } from './context';
import { handshakeCommands } from './handshake';
import { namespaceCommands } from './namespaces';
import { readCommands } from './read';
import { writeCommands } from './write';

const handlers: ReadonlyMap<string, CommandHandler> = new Map(
  Object.entries({ ...handshakeCommands, ...namespaceCommands, ...readCommands, ...writeCommands }),
);

/** Commands that end a transaction rather than run inside it. */
const TXN_CONTROL = new Set(['commitTransaction', 'abortTransaction', 'endSessions', 'killSessions']);

/** Runs one command and always returns a reply document (errors in MongoDB's shape). */
export function runCommand(cmd: Document, ctx: CommandContext): Document {
  const name = Object.keys(cmd)[0] ?? '';
  const handler = handlers.get(name);
  if (!handler) return { ok: 0, errmsg: `no such command: '${name}'`, code: 59, codeName: 'CommandNotFound' };
  try {
    if (!TXN_CONTROL.has(name)) ctx.store.undo = ctx.txns.statement(cmd);
    return handler(cmd, ctx);
  } catch (err) {
    return toMongoError(err).toReply();
  } finally {
    ctx.store.undo = undefined;
  }
}
