import type { Document } from 'bson';
import { toMongoError } from '../engine/errors';
import { authCommands, PRE_AUTH_COMMANDS, unauthorized } from './auth';
import type { CommandContext, CommandHandler } from './context';
import { handshakeCommands } from './handshake';
import { namespaceCommands } from './namespaces';
import { readCommands } from './read';
import { writeCommands } from './write';

const handlers: ReadonlyMap<string, CommandHandler> = new Map(
  Object.entries({
    ...handshakeCommands,
    ...authCommands,
    ...namespaceCommands,
    ...readCommands,
    ...writeCommands,
  }),
);

/** Commands that end a transaction rather than run inside it. */
const TXN_CONTROL = new Set(['commitTransaction', 'abortTransaction', 'endSessions', 'killSessions']);

function isPromise(v: Document | Promise<Document>): v is Promise<Document> {
  return typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs one command and always returns a reply document (errors in MongoDB's shape): synchronously,
 * or as a promise for a long read that proceeds in time slices.
 */
export function runCommand(cmd: Document, ctx: CommandContext): Document | Promise<Document> {
  const name = Object.keys(cmd)[0] ?? '';
  if (!ctx.auth.authenticated && !PRE_AUTH_COMMANDS.has(name)) return unauthorized(name);
  const handler = handlers.get(name);
  if (!handler) return { ok: 0, errmsg: `no such command: '${name}'`, code: 59, codeName: 'CommandNotFound' };
  const { counters } = ctx.server;
  counters.received(name, cmd);
  const counted = (reply: Document): Document => {
    if (reply.ok === 0) counters.failed(name);
    return reply;
  };
  try {
    if (!TXN_CONTROL.has(name)) ctx.store.undo = ctx.txns.statement(cmd);
    const reply = handler(cmd, ctx);
    // Only reads answer later, and they record no undo entries: the undo log is released now.
    return isPromise(reply)
      ? reply.catch((err: unknown) => toMongoError(err).toReply()).then(counted)
      : counted(reply);
  } catch (err) {
    return counted(toMongoError(err).toReply());
  } finally {
    ctx.store.undo = undefined;
  }
}
