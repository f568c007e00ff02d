import type { Redis } from 'ioredis';
import type { EventBus } from '../bus/event-bus';
import type { Logger } from '../logger';
import { redisHealth } from '../redis';
import { redisRoundTrips } from '../redis-round-trips';
import type { TokenDenylist } from './denylist';
import { createLocalDenylistCopy } from './local-denylist-copy';

export interface ReplicatedDenylistOptions {
  /** The command connection (it has a command timeout, so a frozen Redis fails a check, never holds it). */
  redis: Redis;
  /** Pushes `session:revoked` into the local copy the moment auth publishes it. */
  bus?: EventBus | undefined;
  logger: Logger;
  /** Keys `<prefix><id>` as `createRedisDenylist` writes them; the change log is `<prefix>log`. */
  prefix?: string;
  /** The periodic sync of the local copy from Redis's change log: the staleness bound when a push is lost. */
  syncIntervalMs?: number;
  /**
   * How long a pushed session id is kept when its own expiry is not known yet (the bus message has none); the
   * next sync replaces it with the expiry Redis holds. At least the access-token TTL.
   */
  pushedTtlSeconds?: number;
  /** How long the change log keeps an entry: longer than any denial (access-token TTL, refresh reuse). */
  logRetentionSeconds?: number;
  /** Entries read per sync round trip. */
  syncPage?: number;
  now?: () => number;
}

export interface ReplicatedDenylist extends TokenDenylist {
  /** Whether checks currently go to Redis (false: answered from the local copy alone). */
  usingRedis(): boolean;
  /** One sync of the local copy from Redis (also flushes revocations Redis missed); rejects when Redis fails. */
  sync(): Promise<void>;
  /** Ids in the local copy (tests, metrics). */
  localSize(): number;
  /** Stops the timers. */
  close(): void;
}

/** A revocation read back from the change log overlaps this much with the last sync (clock skew between writers). */
const SYNC_OVERLAP_MS = 30_000;

/**
 * The access-token denylist in Redis, with a local copy in every process so that a Redis outage degrades
 * instead of halting: revocations learned before the outage still hold, and nothing waits for Redis.
 *
 * - `revoke` writes the id to the local copy at once, then to Redis (`<prefix><id>` with its TTL, plus a change
 *   log entry). When Redis is away, the write is kept and retried until Redis takes it.
 * - The local copy is fed by pushes (`session:revoked` on the bus, milliseconds after a logout) and by a
 *   bounded, incremental sync from the change log every `syncIntervalMs` (the bound when a push is lost).
 * - `isRevoked` answers true from the local copy, else asks Redis (as strict as before while Redis is healthy);
 *   while Redis is unusable (not connected, or its heartbeat unanswered: `redisHealth`), or when a check fails or
 *   times out, it answers from the local copy alone. So a call waits at most one command timeout, and only the
 *   calls in flight when Redis stops answering do.
 */
export function createReplicatedDenylist(options: ReplicatedDenylistOptions): ReplicatedDenylist {
  const {
    redis,
    bus,
    logger,
    prefix = 'cohort:deny:',
    syncIntervalMs = 2000,
    pushedTtlSeconds = 3600,
    logRetentionSeconds = 86_400,
    syncPage = 5000,
    now = Date.now,
  } = options;
  const logKey = `${prefix}log`;
  const local = createLocalDenylistCopy(now);
  /** Revocations Redis has not taken yet: id → expiry (epoch seconds). */
  const unsent = new Map<string, number>();
  let syncedUpTo = 0;
  const health = redisHealth(redis);
  // Checks share their round trip with whatever else this process asks Redis in the same turn (a storm's handshakes).
  const roundTrips = redisRoundTrips(redis);
  const redisUsable = () => health.usable();
  const failed = (what: string) => (err: unknown) =>
    logger.warn({ err: err instanceof Error ? { message: err.message } : err }, `denylist: ${what} failed`);

  const write = async (id: string, expiresAt: number) => {
    const ttl = Math.ceil(expiresAt - now() / 1000);
    if (ttl <= 0) return;
    const t = now();
    await redis
      .multi()
      .set(prefix + id, '1', 'EX', ttl)
      .zadd(logKey, t, `${expiresAt}:${id}`)
      .zremrangebyscore(logKey, '-inf', t - logRetentionSeconds * 1000)
      .exec();
  };

  const flushUnsent = async () => {
    for (const [id, expiresAt] of [...unsent]) {
      await write(id, expiresAt);
      unsent.delete(id);
    }
  };

  /**
   * A Redis restarted without its data (no persistence) has lost every revocation: each process writes back what
   * its copy holds, so processes started later learn them too.
   */
  const reseedIfEmpty = async () => {
    if ((await redis.exists(logKey)) > 0) return;
    const held = local.entries();
    for (const [id, untilMs] of held) if (!unsent.has(id)) unsent.set(id, Math.ceil(untilMs / 1000));
    if (held.length > 0)
      logger.warn({ ids: held.length }, 'denylist: Redis lost its revocations; writing them back');
  };

  const sync = async () => {
    await reseedIfEmpty();
    await flushUnsent();
    let from = Math.max(0, syncedUpTo - SYNC_OVERLAP_MS);
    for (;;) {
      const page = await redis.zrangebyscore(logKey, from, '+inf', 'WITHSCORES', 'LIMIT', 0, syncPage);
      for (let i = 0; i + 1 < page.length; i += 2) {
        const entry = page[i]!;
        const score = Number(page[i + 1]);
        const colon = entry.indexOf(':');
        const expiresAt = Number(entry.slice(0, colon));
        // An entry that has expired is not copied (the overlap re-reads recent ones: it would come back after prune).
        if (colon > 0 && Number.isFinite(expiresAt) && expiresAt * 1000 > now())
          local.set(entry.slice(colon + 1), expiresAt * 1000);
        if (score > syncedUpTo) syncedUpTo = score;
      }
      if (page.length < syncPage * 2) return;
      // A full page: go on after its last score (entries sharing it are read again, harmlessly).
      from = Number(page[page.length - 1]);
    }
  };

  let syncing = false;
  const syncSoon = () => {
    if (syncing || !redisUsable()) return;
    syncing = true;
    sync()
      .catch(failed('sync'))
      .finally(() => (syncing = false));
  };
  const syncTimer = setInterval(() => {
    local.prune();
    syncSoon();
  }, syncIntervalMs);
  syncTimer.unref();
  // The first sync fills the copy from the log; until it has, Redis answers every check anyway. Each
  // reconnection syncs at once too (revocations written elsewhere while this process could not read them).
  const onReady = () => setTimeout(syncSoon, 0);
  redis.on('ready', onReady);
  if (redis.status === 'ready') onReady();

  if (bus) {
    bus
      .subscribe('session-events', (event) => {
        if (event.type === 'session:revoked')
          local.setAtLeast(event.sessionId, now() + pushedTtlSeconds * 1000);
      })
      .catch((err: unknown) => logger.warn({ err }, 'denylist: no session-events push; sync only'));
  }

  const askRedis = async (groups: readonly (readonly string[])[]): Promise<boolean[] | undefined> => {
    if (!redisUsable()) return undefined;
    try {
      const results = await roundTrips.send((pipeline) => {
        for (const ids of groups) pipeline.exists(...ids.map((id) => prefix + id));
      });
      return groups.map((_, i) => {
        const [err, found] = results[i] ?? [new Error('no answer from Redis')];
        if (err) throw err;
        return Number(found) > 0;
      });
    } catch {
      // Redis stopped answering mid-check (the heartbeat will say so shortly): the local copy answers.
      return undefined;
    }
  };

  const revokedAmong = async (groups: readonly (readonly string[])[]): Promise<boolean[]> => {
    const answers = groups.map((ids) => local.has(ids));
    const open = groups.filter((ids, i) => !answers[i] && ids.length > 0);
    if (open.length === 0) return answers;
    const remote = await askRedis(open);
    if (!remote) return answers;
    let next = 0;
    return groups.map((ids, i) => answers[i] || (ids.length > 0 && !answers[i] && remote[next++] === true));
  };

  return {
    async revoke(id, expiresAt) {
      local.set(id, expiresAt * 1000);
      try {
        if (!redisUsable()) throw new Error('Redis unusable');
        await write(id, expiresAt);
      } catch (err) {
        unsent.set(id, expiresAt);
        logger.warn(
          { err: err instanceof Error ? { message: err.message } : err, id },
          'denylist: revocation kept locally; written to Redis when it is back',
        );
      }
    },
    async isRevoked(...ids) {
      if (ids.length === 0) return false;
      const [revoked] = await revokedAmong([ids]);
      return revoked === true;
    },
    revokedAmong,
    usingRedis: redisUsable,
    sync,
    localSize: () => local.size(),
    close() {
      clearInterval(syncTimer);
      redis.off('ready', onReady);
    },
  };
}
