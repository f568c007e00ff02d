import type { Redis } from 'ioredis';
import { pipelineReplies, redisHealth, redisRoundTrips, type Logger } from '@cohort/common';
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
  /**
   * Gives back the places of sockets that died with their replica: every place the dead replicas took (a handshake
   * cut short by the crash included), and the sockets presence's sweep found on them.
   */
  forget(dead: DeadReplicas): Promise<void>;
}

/** What presence's sweep claimed (presence.store.ts `Sweep`). */
export interface DeadReplicas {
  replicas: readonly string[];
  users: readonly QuotaUser[];
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
  /** This process, as presence names it (a restarted replica is another instance): its places are listed under it. */
  instanceId: string;
  prefix?: string;
  now?: () => number;
}

/*
 * Keys:
 *   <p>u:<userId>      ZSET  member socketId (Socket.IO ids are random, unique across replicas), score = expiry (ms)
 *   <p>r:<instance>    HASH  socketId → userId: the places a replica took, for the sweep when it dies
 * Check and add are one script, so concurrent handshakes on several replicas never overshoot the cap; the one key
 * per script keeps it valid on Redis Cluster. The replica's list is written in the same round trip, before the
 * script: a replica that dies in a handshake, after taking a place and before presence recorded the socket, leaves
 * the place listed, and the survivor that sweeps it (presence's sweep claims it) gives every listed place back.
 * The expiry, renewed a slice of users at a time, is the backstop for what no sweep reaches.
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
  instanceId,
  prefix = 'cohort:connections:',
  now = Date.now,
}: RedisConnectionQuotaOptions): ConnectionQuota {
  const userKey = (userId: string) => `${prefix}u:${userId}`;
  const placesKey = (instance: string) => `${prefix}r:${instance}`;
  const ownPlaces = placesKey(instanceId);
  const placeTtl = socketTtlMs(ttlMs);
  const keyTtl = placeTtl * 2;
  const health = redisHealth(redis);
  // A handshake's place is written in the round trip its membership read takes (and other handshakes' of this turn);
  // every write of a replica's own places goes this way, so they reach Redis in the order they were made.
  const roundTrips = redisRoundTrips(redis);
  // The list's expiry is set by every heartbeat (refresh); before the first, by the first place taken.
  let listExpires = false;
  // Releases Redis did not take (it was down): retried by the next heartbeat, so the place does not linger.
  const unreleased = new Map<string, Set<string>>();
  const retryLater = (userId: string, socketIds: readonly string[]) => collect(unreleased, userId, socketIds);
  /** Removes places; `listedIn`: also from that replica's list. */
  const removeAll = async (users: Iterable<QuotaUser>, listedIn?: string) => {
    pipelineReplies(
      await roundTrips.send((pipeline) => {
        for (const { userId, socketIds } of users) {
          if (socketIds.length === 0) continue;
          pipeline.zrem(userKey(userId), ...socketIds);
          if (listedIn) pipeline.hdel(listedIn, ...socketIds);
        }
      }),
    );
  };
  /** Adds a dead replica's listed places to `into`. */
  const collectListed = async (instance: string, into: Map<string, Set<string>>) => {
    for (const [socketId, userId] of Object.entries(await redis.hgetall(placesKey(instance))))
      collect(into, userId, [socketId]);
  };
  return {
    async acquire(userId, socketId) {
      // A frozen Redis (heartbeat unanswered) is not waited on: the handshake goes through, as when it is down.
      if (!health.usable()) return true;
      const t = now();
      try {
        const replies = pipelineReplies(
          await roundTrips.send((pipeline) => {
            pipeline.hset(ownPlaces, socketId, userId);
            if (!listExpires) pipeline.pexpire(ownPlaces, placeTtl);
            pipeline.eval(ACQUIRE, 1, userKey(userId), socketId, t + placeTtl, t, max, keyTtl);
          }),
        );
        listExpires = true;
        if (Number(replies.at(-1)) === 1) return true;
        // Refused: the socket is not listed either (should this fail, the field names no place: harmless).
        roundTrips.send((pipeline) => pipeline.hdel(ownPlaces, socketId)).catch(() => undefined);
        return false;
      } catch (err) {
        logger.warn({ err, userId }, 'connection quota unavailable: handshake let through');
        return true;
      }
    },
    release(userId, socketId) {
      removeAll([{ userId, socketIds: [socketId] }], ownPlaces).catch((err: unknown) => {
        logger.warn({ err, userId }, 'connection quota release failed: retried at the next heartbeat');
        retryLater(userId, [socketId]);
      });
    },
    async refresh(users) {
      if (unreleased.size > 0) {
        const retries = usersOf(unreleased);
        unreleased.clear();
        await removeAll(retries, ownPlaces).catch((err: unknown) => {
          for (const { userId, socketIds } of retries) retryLater(userId, socketIds);
          throw err;
        });
      }
      const expiry = now() + placeTtl;
      const listed: string[] = [];
      const replies = await roundTrips.send((pipeline) => {
        for (const { userId, socketIds } of users) {
          if (socketIds.length === 0) continue;
          const scores = socketIds.flatMap((id) => [expiry, id]);
          pipeline.zadd(userKey(userId), ...scores).pexpire(userKey(userId), keyTtl);
          for (const id of socketIds) listed.push(id, userId);
        }
        // The list is renewed with the places (written again, should Redis have lost it) and outlives them.
        if (listed.length > 0) pipeline.hset(ownPlaces, ...listed);
        pipeline.pexpire(ownPlaces, placeTtl);
      });
      pipelineReplies(replies);
    },
    async forget({ replicas, users }) {
      // Every listed place, and the sockets presence found (a dead replica from before the lists kept none): one
      // removal per user for both.
      const places = new Map<string, Set<string>>();
      for (const { userId, socketIds } of users) collect(places, userId, socketIds);
      for (const instance of replicas) await collectListed(instance, places);
      await removeAll(usersOf(places));
      if (replicas.length > 0) await redis.del(...replicas.map(placesKey));
    },
  };
}

/** Adds socket ids to a user's set. */
function collect(into: Map<string, Set<string>>, userId: string, socketIds: Iterable<string>): void {
  const ids = into.get(userId) ?? new Set<string>();
  for (const id of socketIds) ids.add(id);
  into.set(userId, ids);
}

/** Sets of socket ids by user as the users' places. */
function usersOf(places: ReadonlyMap<string, ReadonlySet<string>>): QuotaUser[] {
  return [...places].map(([userId, ids]) => ({ userId, socketIds: [...ids] }));
}
