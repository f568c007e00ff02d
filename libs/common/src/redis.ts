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

/** The longest pause between reconnection attempts. */
export const REDIS_RECONNECT_CAP_MS = 500;

/** Far above a healthy Redis round trip (well under 1 ms locally, a few ms across zones). */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

/**
 * An ioredis client that never crashes its process: errors are logged (at most once per second while
 * the server is away), it reconnects with capped backoff, and commands fail fast while disconnected
 * instead of piling up (command connections: after their first connection, no offline queue), or within
 * `commandTimeoutMs` when Redis is connected but does not answer. Subscriber connections (`commandTimeoutMs`
 * 0) keep their offline queue: their (un)subscriptions wait for Redis instead of failing.
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
    // Capped at 500 ms: a connection is back within half a second of Redis (cross-replica delivery resumes
    // within the 2 s issue 19 asks for); a refused connect twice a second per connection costs nothing.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, REDIS_RECONNECT_CAP_MS),
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
  if (commandTimeoutMs > 0 && options.enableOfflineQueue === undefined) {
    // Commands issued before the first connection wait for it (start-up order does not matter); once connected,
    // a command issued while Redis is away fails at once instead of queueing for a command timeout, so callers
    // with a fallback (limits, the denylist copy, quotas) take it without waiting.
    client.once('ready', () => {
      client.options.enableOfflineQueue = false;
    });
  }
  return client;
}

/** A pipeline's replies, in order; throws its first error (or when ioredis discarded the pipeline). */
export function pipelineReplies(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('pipeline discarded');
  const failed = results.find(([err]) => err !== null);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}

/** Readiness check for `/readyz`. */
export async function pingRedis(client: Redis): Promise<void> {
  const answer = await client.ping();
  if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
}

/**
 * Closes a client, waiting for pending replies when connected and disconnecting outright otherwise. Never
 * throws: a connection that broke between the status check and QUIT (status still `ready`, stream already
 * closed, no offline queue) is disconnected instead, so a shutdown always releases the socket.
 */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // QUIT could not be sent or answered: nothing is pending on a broken stream.
    }
  }
  client.disconnect();
}

/** Whether a command connection is worth asking now, as seen by a background heartbeat. */
export interface RedisHealth {
  /** Connected, and the last heartbeat was answered (none is overdue, as the heartbeat's own timer counts). */
  usable(): boolean;
}

export interface RedisHealthOptions {
  /** Heartbeat period. */
  intervalMs?: number;
  /** A heartbeat unanswered this long marks the connection unusable (a frozen server, a silent partition). */
  stallMs?: number;
}

const healthWatchers = new WeakMap<Redis, RedisHealth>();

/**
 * One heartbeat (PING every `intervalMs`) per command connection, shared by everything that asks: paths that have
 * a fallback (the denylist's local copy, per-process rate limits) skip Redis while it is unusable, so only the
 * commands in flight when Redis stops answering wait for their command timeout; a killed server is seen at once
 * (the connection is no longer `ready`), a frozen one within `intervalMs + stallMs`. Stops when the client ends.
 *
 * The stall is judged once per heartbeat, after the bound and after the poll of the event loop's next turn, not by
 * the clock of whoever asks: a process busy for a while (a reconnect storm's handshakes) has Redis's answer in its
 * socket, unread, and would otherwise take itself for a frozen server and fall back (the membership directory to
 * chat-api, the connection cap to letting handshakes through uncounted).
 */
export function redisHealth(client: Redis, options: RedisHealthOptions = {}): RedisHealth {
  const known = healthWatchers.get(client);
  if (known) return known;
  // A frozen server is noticed within 0.5 s, and no more often than that needs: every PING costs CPU in its process
  // and in Redis, on every command connection of every process, idle or not.
  const { intervalMs = 200, stallMs = 300 } = options;
  // The heartbeat in flight (a number per PING), 0 when none is.
  let outstanding = 0;
  let sent = 0;
  let answered = true;
  let stalled = false;
  const settle = (ok: boolean) => {
    answered = ok;
    stalled = false;
    outstanding = 0;
  };
  const timer = setInterval(() => {
    if (client.status !== 'ready' || outstanding !== 0) return;
    sent += 1;
    const ping = sent;
    outstanding = ping;
    // A heartbeat from before a reconnection ('ready' settled it) says nothing of the connection now.
    client.ping().then(
      () => outstanding === ping && settle(true),
      () => outstanding === ping && settle(false),
    );
    // Judged after the stall bound and one more turn of the event loop, whose poll reads an answer that came in time.
    setTimeout(() => {
      setImmediate(() => {
        if (outstanding === ping) stalled = true;
      });
    }, stallMs).unref();
  }, intervalMs);
  timer.unref();
  client.once('end', () => clearInterval(timer));
  client.on('ready', () => settle(true));
  const health: RedisHealth = {
    usable: () => client.status === 'ready' && answered && !stalled,
  };
  healthWatchers.set(client, health);
  return health;
}
