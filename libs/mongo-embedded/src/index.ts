/**
 * Public API of the embedded MongoDB-compatible store (DESIGN.md §6): an in-process TCP server
 * speaking the MongoDB wire protocol, so the official driver and mongoose run unchanged.
 */
import { Store } from './engine/store';
import { Persistence } from './persistence/persistence';
import { WireServer } from './server';

export interface EmbeddedMongoOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Directory for durable data; in-memory only when absent. */
  dataDir?: string;
}

export interface EmbeddedMongo {
  /** `mongodb://127.0.0.1:PORT` (no database path; append `/dbname`). */
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
