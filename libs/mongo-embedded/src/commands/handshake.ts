import type { Document } from 'bson';
import { speculativeAuthenticate } from './auth';
import type { CommandContext, CommandHandler } from './context';

export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_WRITE_BATCH_SIZE = 100_000;
const VERSION = '7.0.0';

/**
 * A standalone server's hello. No `topologyVersion` (the driver would switch to streaming hello)
 * and no `compression` (OP_COMPRESSED is not spoken). Sessions are advertised so that the driver
 * sends lsid/txnNumber and mongoose transactions run (see README: isolation).
 */
const hello: CommandHandler = (cmd: Document, ctx: CommandContext) => {
  const reply: Document = {
    helloOk: true,
    ismaster: true,
    isWritablePrimary: true,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  };
  if (cmd.saslSupportedMechs !== undefined) {
    if (!ctx.authenticator) reply.saslSupportedMechs = [];
    else {
      const mechs = ctx.authenticator.mechanismsFor(cmd.saslSupportedMechs);
      if (mechs) reply.saslSupportedMechs = mechs;
    }
  }
  const speculative = speculativeAuthenticate(cmd, ctx);
  if (speculative) reply.speculativeAuthenticate = speculative;
  return reply;
};

const buildInfo: CommandHandler = () => ({
  version: VERSION,
  gitVersion: 'cohort-embedded',
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
  storageEngines: ['cohort-embedded'],
  ok: 1,
});

const ok: CommandHandler = () => ({ ok: 1 });

export const handshakeCommands: Record<string, CommandHandler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: ok,
  buildInfo,
  buildinfo: buildInfo,
  getLastError: () => ({ n: 0, err: null, ok: 1 }),
  whatsmyuri: () => ({ you: '127.0.0.1:0', ok: 1 }),
  connectionStatus: (_cmd, ctx) => ({
    authInfo: {
      authenticatedUsers: ctx.auth.user ? [{ user: ctx.auth.user, db: ctx.authenticator?.database }] : [],
      authenticatedUserRoles: [],
    },
    ok: 1,
  }),
  getParameter: () => ({ ok: 1 }),
  getCmdLineOpts: () => ({ argv: [], parsed: {}, ok: 1 }),
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: 'localhost' }, ok: 1 }),
  serverStatus: (_cmd, ctx) => ({
    host: `${ctx.server.host}:${ctx.server.port}`,
    version: VERSION,
    process: 'cohort-embedded',
    uptime: Math.floor((Date.now() - ctx.server.startedAt.getTime()) / 1000),
    localTime: new Date(),
    opcounters: { ...ctx.server.counters.opcounters },
    metrics: { commands: ctx.server.counters.commands() },
    ok: 1,
  }),
  endSessions: (cmd, ctx) => {
    ctx.txns.end(Array.isArray(cmd.endSessions) ? cmd.endSessions : []);
    return { ok: 1 };
  },
  refreshSessions: ok,
  killSessions: (cmd, ctx) => {
    ctx.txns.end(Array.isArray(cmd.killSessions) ? cmd.killSessions : []);
    return { ok: 1 };
  },
  commitTransaction: (cmd, ctx) => {
    ctx.txns.commit(cmd);
    return { ok: 1 };
  },
  abortTransaction: (cmd, ctx) => {
    ctx.txns.abort(cmd);
    return { ok: 1 };
  },
};
