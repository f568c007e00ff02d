import type { Redis } from 'ioredis';
import { pipelineReplies, redisHealth, type Logger } from '@cohort/common';
import { socketTtlMs } from '../presence/renewal';

/** The sockets one replica holds for one user, as its heartbeat re-asserts them. */
export interface QuotaUser {
  userId: string;
  socketIds: string[];
}

/**
 * The cap on a user's concurrent sockets over every replica (docs/security.md). A handshake takes a place before the
 * client sees `connect`; one more than the cap is refused, the user's existing sockets are never dropped.
 */
export interface ConnectionQuota {
  /** Counts `socketId` for `userId`; false (nothing counted) when the user already holds the cap. */
  acquire(userId: string, socketId: string): Promise<boolean>;
  /** Gives the place back (the socket left, or its handshake failed after `acquire`). Never throws. */
  release(userId: string, socketId: string): void;
  /**
   * Heartbeat: renews the places of these users' sockets here (a slice of the users each time, presence/renewal.ts)
   * and retries the releases Redis did not take.
   */
  refresh(users: readonly QuotaUser[]): Promise<void>;
  /** Gives back the places of sockets that died with their replica (presence's sweep found them). */
  forget(users: readonly QuotaUser[]): Promise<void>;
}

/** Single-process quota for the embedded mode. */
export function createMemoryConnectionQuota(max: number): ConnectionQuota {
  const sockets = new Map<string, Set<string>>();
  return {
    async acquire(userId, socketId) {
      let set = sockets.get(userId);
      if (!set) {
        set = new Set();
        sockets.set(userId, set);
      }
      if (set.size >= max && !set.has(socketId)) return false;
      set.add(socketId);
      return true;
    },
    release(userId, socketId) {
      const set = sockets.get(userId);
      if (!set) return;
      set.delete(socketId);
      if (set.size === 0) sockets.delete(userId);
    },
    async refresh() {},
    async forget() {},
  };
}

export interface RedisConnectionQuotaOptions {
  redis: Redis;
  max: number;
  /** PRESENCE_TTL_MS: a place lives as long as a presence entry unrenewed (presence/renewal.ts). */
  ttlMs: number;
  logger: Logger;
  prefix?: string;
  now?: () => number;
}

/*
 * Key: <p>u:<userId>  ZSET  member socketId (Socket.IO ids are random, unique across replicas), score = expiry (ms).
 * Check and add are one script, so concurrent handshakes on several replicas never overshoot the cap; the one key
 * per script keeps it valid on Redis Cluster. A crashed replica's places are given back by the presence sweep
 * (`forget`); the expiry, renewed a slice of users at a time, is the backstop for what no sweep reaches.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/**
 * The cap shared by every replica. While Redis is unreachable or not answering the handshake is let through: the cap
 * is abuse control, and connecting must not depend on Redis being up more than it already does.
 */
export function createRedisConnectionQuota({
  redis,
  max,
  ttlMs,
  logger,
  prefix = 'cohort:connections:',
  now = Date.now,
}: RedisConnectionQuotaOptions): ConnectionQuota {
  const userKey = (userId: string) => `${prefix}u:${userId}`;
  const placeTtl = socketTtlMs(ttlMs);
  const keyTtl = placeTtl * 2;
  const health = redisHealth(redis);
  // Releases Redis did not take (it was down): retried by the next heartbeat, so the place does not linger.
  const unreleased = new Map<string, Set<string>>();
  const retryLater = (userId: string, socketIds: readonly string[]) => {
    const ids = unreleased.get(userId) ?? new Set<string>();
    for (const id of socketIds) ids.add(id);
    unreleased.set(userId, ids);
  };
  const removeAll = async (users: Iterable<QuotaUser>) => {
    const pipeline = redis.pipeline();
    for (const { userId, socketIds } of users)
      if (socketIds.length > 0) pipeline.zrem(userKey(userId), ...socketIds);
    if (pipeline.length > 0) pipelineReplies(await pipeline.exec());
  };
  return {
    async acquire(userId, socketId) {
      // A frozen Redis (heartbeat unanswered) is not waited on: the handshake goes through, as when it is down.
      if (!health.usable()) return true;
      const t = now();
      try {
        const result: unknown = await redis.eval(
          ACQUIRE,
          1,
          userKey(userId),
          socketId,
          t + placeTtl,
          t,
          max,
          keyTtl,
        );
        return Number(result) === 1;
      } catch (err) {
        logger.warn({ err, userId }, 'connection quota unavailable: handshake let through');
        return true;
      }
    },
    release(userId, socketId) {
      redis.zrem(userKey(userId), socketId).catch((err: unknown) => {
        logger.warn({ err, userId }, 'connection quota release failed: retried at the next heartbeat');
        retryLater(userId, [socketId]);
      });
    },
    async refresh(users) {
      if (unreleased.size > 0) {
        const retries = [...unreleased].map(([userId, ids]) => ({ userId, socketIds: [...ids] }));
        unreleased.clear();
        await removeAll(retries).catch((err: unknown) => {
          for (const { userId, socketIds } of retries) retryLater(userId, socketIds);
          throw err;
        });
      }
      const expiry = now() + placeTtl;
      const pipeline = redis.pipeline();
      for (const { userId, socketIds } of users) {
        if (socketIds.length === 0) continue;
        const scores = socketIds.flatMap((id) => [expiry, id]);
        pipeline.zadd(userKey(userId), ...scores).pexpire(userKey(userId), keyTtl);
      }
      if (pipeline.length > 0) pipelineReplies(await pipeline.exec());
    },
    forget: removeAll,
  };
}
