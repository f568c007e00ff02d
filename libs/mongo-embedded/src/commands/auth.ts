import type { Document } from 'bson';
import { MongoCommandError } from '../engine/errors';
import type { CommandContext, CommandHandler } from './context';

/** What a connection may run before it has authenticated (mongod's list, less what we lack). */
export const PRE_AUTH_COMMANDS: ReadonlySet<string> = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'endSessions',
]);

/** Code 13, as mongod answers a command from a connection that has not authenticated. */
export function unauthorized(command: string): Document {
  return {
    ok: 0,
    errmsg: `Command ${command} requires authentication`,
    code: 13,
    codeName: 'Unauthorized',
  };
}

function authenticator(ctx: CommandContext) {
  // A store without users rejects every login, as a mongod with no users does.
  if (!ctx.authenticator) throw new MongoCommandError(18, 'Authentication failed.');
  return ctx.authenticator;
}

/** The reply to hello's `speculativeAuthenticate` (undefined: the client then runs saslStart itself). */
export function speculativeAuthenticate(cmd: Document, ctx: CommandContext): Document | undefined {
  const spec = cmd.speculativeAuthenticate as Document | undefined;
  if (!ctx.authenticator || !spec || spec.saslStart === undefined) return undefined;
  try {
    const reply = ctx.authenticator.start(ctx.auth, typeof spec.db === 'string' ? spec.db : ctx.db, spec);
    const { ok: _ok, ...rest } = reply;
    return rest;
  } catch {
    return undefined;
  }
}

export const authCommands: Record<string, CommandHandler> = {
  saslStart: (cmd, ctx) => authenticator(ctx).start(ctx.auth, ctx.db, cmd),
  saslContinue: (cmd, ctx) => authenticator(ctx).continue(ctx.auth, cmd),
  logout: (_cmd, ctx) => {
    if (ctx.authenticator) {
      ctx.auth.authenticated = false;
      ctx.auth.user = undefined;
    }
    return { ok: 1 };
  },
};
