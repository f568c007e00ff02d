import mongoose, {
  type Aggregate,
  type Connection,
  type MongooseQueryMiddleware,
  type Query,
  type Schema,
} from 'mongoose';
import type { Logger } from './logger';

export interface MongoOptions {
  url: string;
  logger: Logger;
  /** Fail fast instead of hanging when the server is unreachable. */
  serverSelectionTimeoutMS?: number;
  maxPoolSize?: number;
  /**
   * Time limit (MongoDB `maxTimeMS`) given to every query, update, delete and aggregation of the
   * models created on this connection unless the call sets its own; 0 turns the default off.
   */
  defaultMaxTimeMS?: number;
}

/** docs/security.md: no product query may run unbounded (5 s is far beyond any product query's need). */
export const DEFAULT_MAX_TIME_MS = 5_000;

/** Query middleware that reads or writes the store: each gets a time limit. */
const BOUNDED_QUERY_OPS: MongooseQueryMiddleware[] = [
  'find',
  'findOne',
  'countDocuments',
  'estimatedDocumentCount',
  'distinct',
  'findOneAndUpdate',
  'findOneAndDelete',
  'findOneAndReplace',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
];

/**
 * A mongoose plugin that sets `maxTimeMS` on every query and aggregation that does not set one, so
 * the server (a real mongod or the embedded store) interrupts it with code 50 MaxTimeMSExpired
 * instead of letting one request occupy it indefinitely.
 */
export function maxTimePlugin(maxTimeMS: number): (schema: Schema) => void {
  // One function per limit: a schema shared by several connections (services composed in one
  // process) then gets the hooks once (mongoose deduplicates a plugin by identity).
  const cached = pluginsByLimit.get(maxTimeMS);
  if (cached) return cached;
  const plugin = (schema: Schema): void => {
    schema.pre(BOUNDED_QUERY_OPS, function (this: Query<unknown, unknown>) {
      if (this.getOptions().maxTimeMS === undefined) this.maxTimeMS(maxTimeMS);
    });
    schema.pre('aggregate', function (this: Aggregate<unknown>) {
      if (this.options.maxTimeMS === undefined) this.option({ maxTimeMS });
    });
  };
  pluginsByLimit.set(maxTimeMS, plugin);
  return plugin;
}

const pluginsByLimit = new Map<number, (schema: Schema) => void>();

/**
 * Opens a dedicated mongoose connection (not the global one), so services composed in one process
 * and tests never share connection state. Commands are not buffered: a down database is an error, not a hang.
 */
export async function connectMongo({
  url,
  logger,
  serverSelectionTimeoutMS = 5000,
  maxPoolSize = 20,
  defaultMaxTimeMS = DEFAULT_MAX_TIME_MS,
}: MongoOptions): Promise<Connection> {
  const connection = mongoose.createConnection(url, {
    serverSelectionTimeoutMS,
    socketTimeoutMS: 30_000,
    maxPoolSize,
    bufferCommands: false,
    autoIndex: true,
  });
  // Before any model is compiled on this connection: connection plugins apply at model creation.
  if (defaultMaxTimeMS > 0) connection.plugin(maxTimePlugin(defaultMaxTimeMS), { deduplicate: true });
  connection.on('disconnected', () => logger.warn('mongo disconnected'));
  connection.on('reconnected', () => logger.info('mongo reconnected'));
  connection.on('error', (err: unknown) => logger.error({ err }, 'mongo error'));
  await connection.asPromise();
  logger.info({ host: connection.host, port: connection.port, db: connection.name }, 'mongo connected');
  return connection;
}

/** Readiness check for `/readyz`. */
export async function pingMongo(connection: Connection): Promise<void> {
  const db = connection.db;
  if (!db) throw new Error('mongo not connected');
  await db.admin().command({ ping: 1 });
}
