import mongoose, { type Connection } from 'mongoose';
import type { Logger } from './logger';

export interface MongoOptions {
  url: string;
  logger: Logger;
  /** Fail fast instead of hanging when the server is unreachable. */
  serverSelectionTimeoutMS?: number;
  maxPoolSize?: number;
}

/**
 * Opens a dedicated mongoose connection (not the global one), so services composed in one process
 * and tests never share connection state. Commands are not buffered: a down database is an error, not a hang.
 */
export async function connectMongo({
  url,
  logger,
  serverSelectionTimeoutMS = 5000,
  maxPoolSize = 20,
}: MongoOptions): Promise<Connection> {
  const connection = mongoose.createConnection(url, {
    serverSelectionTimeoutMS,
    socketTimeoutMS: 30_000,
    maxPoolSize,
    bufferCommands: false,
    autoIndex: true,
  });
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
