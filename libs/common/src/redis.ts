import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger';

export interface RedisClientOptions {
  url: string;
  logger: Logger;
  /** Names the connection in logs and in `CLIENT LIST`. */
  name: string;
  options?: RedisOptions;
  /**
   * A command not answered within this time fails ("Command timed out"), so a frozen Redis (SIGSTOP, a
   * network partition without resets) never holds a request; callers treat it like Redis being away.
   * 0 = none: subscriber connections, whose commands should wait for Redis to come back.
   */
  commandTimeoutMs?: number;
}

/** Far above a healthy Redis round trip (well under 1 ms locally, a few ms across zones). */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

/**
 * An ioredis client that never crashes its process: errors are logged (at most once per second while
 * the server is away), it reconnects with capped backoff, and commands fail fast while disconnected
 * instead of piling up, or within `commandTimeoutMs` when Redis is connected but does not answer.
 */
export function createRedisClient({
  url,
  logger,
  name,
  options = {},
  commandTimeoutMs = REDIS_COMMAND_TIMEOUT_MS,
}: RedisClientOptions): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...(commandTimeoutMs > 0 ? { commandTimeout: commandTimeoutMs } : {}),
    ...options,
  });
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 1000) {
      lastLogged = now;
      logger.warn({ err: { message: err.message }, redis: name }, 'redis error');
    }
  });
  client.on('ready', () => logger.info({ redis: name }, 'redis ready'));
  return client;
}

/** Readiness check for `/readyz`. */
export async function pingRedis(client: Redis): Promise<void> {
  const answer = await client.ping();
  if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
}

/** Closes a client, waiting for pending replies when connected and disconnecting outright otherwise. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await client.quit();
  } else {
    client.disconnect();
  }
}
