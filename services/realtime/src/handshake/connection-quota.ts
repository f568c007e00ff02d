import type { Redis } from 'ioredis';
import { redisHealth, type Logger } from '@cohort/common';

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
  /** Heartbeat: re-asserts this replica's sockets; a replica that stops (crash) lets its places expire. */
  refresh(users: readonly QuotaUser[]): Promise<void>;
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
  };
}

export interface RedisConnectionQuotaOptions {
  redis: Redis;
  max: number;
  /** A place not refreshed for this long is gone (its replica died); the heartbeat refreshes every ttl/3. */
  ttlMs: number;
  logger: Logger;
  prefix?: string;
  now?: () => number;
}

/*
 * Key: <p>u:<userId>  ZSET  member socketId (Socket.IO ids are random, unique across replicas), score = expiry (ms).
 * Check and add are one script, so concurrent handshakes on several replicas never overshoot the cap; the one key
 * per script keeps it valid on Redis Cluster.
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
  const keyTtl = ttlMs * 2;
  const health = redisHealth(redis);
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
          t + ttlMs,
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
      redis
        .zrem(userKey(userId), socketId)
        .catch((err: unknown) => logger.warn({ err, userId }, 'connection quota release failed'));
    },
    async refresh(users) {
      if (users.length === 0) return;
      const expiry = now() + ttlMs;
      const pipeline = redis.pipeline();
      for (const { userId, socketIds } of users) {
        if (socketIds.length === 0) continue;
        const scores = socketIds.flatMap((id) => [expiry, id]);
        pipeline.zadd(userKey(userId), ...scores).pexpire(userKey(userId), keyTtl);
      }
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err !== null);
      if (failed?.[0]) throw failed[0];
    },
  };
}
