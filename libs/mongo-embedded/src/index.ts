/**
 * Public API of the embedded MongoDB-compatible store (see its README): an in-process TCP server
 * speaking the MongoDB wire protocol, so the official driver and mongoose run unchanged.
 */
import { ScramAuthenticator, type StoreUser } from './auth/scram';
import { Store } from './engine/store';
import { Persistence } from './persistence/persistence';
import { WireServer } from './server';

export interface EmbeddedMongoOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the store is reachable from this machine only. */
  host?: string;
  /** Directory for durable data (created 0700, files 0600); in-memory only when absent. */
  dataDir?: string;
  /**
   * Require this user (SCRAM-SHA-256) on every connection: before authenticating, a connection may
   * only run the handshake (hello, ping, buildInfo, saslStart/saslContinue, endSessions); anything
   * else answers code 13 Unauthorized. Connect with `mongodb://user:password@host:port/db?authSource=admin`.
   */
  auth?: StoreUser;
}

export type { StoreUser } from './auth/scram';

export interface EmbeddedMongo {
  /** `mongodb://127.0.0.1:PORT` (no database path and no credentials; append `/dbname`). */
  readonly uri: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Internal knobs for tests and benchmarks (not part of the public contract). */
export interface EmbeddedMongoInternals {
  readonly store: Store;
  readonly server: WireServer;
  readonly persistence: Persistence | undefined;
}

export interface StartedEmbeddedMongo extends EmbeddedMongo {
  readonly internals: EmbeddedMongoInternals;
}

/** Extra options used by this package's own tests and benchmark. */
export interface InternalOptions {
  sweepIntervalMs?: number;
  fsyncIntervalMs?: number;
  compactThresholdBytes?: number;
}

/** Starts the store and its server; resolves once it accepts connections. */
export async function startEmbeddedMongo(
  options: EmbeddedMongoOptions & InternalOptions = {},
): Promise<StartedEmbeddedMongo> {
  const authenticator = options.auth ? new ScramAuthenticator(options.auth) : undefined;
  const store = new Store();
  const persistence = options.dataDir
    ? Persistence.open(options.dataDir, store, {
        fsyncIntervalMs: options.fsyncIntervalMs,
        compactThresholdBytes: options.compactThresholdBytes,
      })
    : undefined;
  const host = options.host ?? '127.0.0.1';
  const server = new WireServer({
    port: options.port ?? 0,
    host,
    store,
    persistence,
    sweepIntervalMs: options.sweepIntervalMs ?? 60_000,
    authenticator,
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (err) {
    persistence?.close();
    throw err;
  }
  const uriHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let closed: Promise<void> | undefined;
  return {
    uri: `mongodb://${uriHost}:${port}`,
    port,
    internals: { store, server, persistence },
    close() {
      closed ??= server.close().then(() => persistence?.close());
      return closed;
    },
  };
}
