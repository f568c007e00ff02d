import type { Redis } from 'ioredis';
import { createBatcher, type Outcome } from '@cohort/common';
import type { OfflineUser, PresenceEntry, PresenceStore } from './presence.store';

export interface RedisPresenceOptions {
  redis: Redis;
  /** Unique per process start (a restarted replica must not be mistaken for its previous life). */
  instanceId: string;
  /** A socket not refreshed for this long is gone; a replica silent for this long is dead. */
  ttlMs: number;
  prefix?: string;
  now?: () => number;
}

/*
 * Keys:
 *   <p>u:<userId>      ZSET  member "<instance>|<socketId>", score = expiry (ms)  — the user's live sockets anywhere
 *   <p>r:<instance>    HASH  userId → JSON chat ids                               — who lives on a replica (for the sweep)
 *   <p>replicas        ZSET  member instance, score = last heartbeat (ms)         — which replicas are alive
 * Each script touches one key, so it also runs on Redis Cluster.
 */

// Adds a socket; returns 1 when the user had no live socket before.
const ADD = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if before == 0 then return 1 end
return 0`;

// Removes a socket; returns 1 when no live socket is left.
const REMOVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`;

// Removes every socket of a dead instance; returns 1 when that removal left the user with none.
const SWEEP_USER = `
local removed = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('ZREM', KEYS[1], m)
    removed = removed + 1
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if removed > 0 and redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`;

/** A socket arriving (`add`) or leaving, as the store writes it. */
interface Change extends PresenceEntry {
  add: boolean;
}

export function createRedisPresenceStore({
  redis,
  instanceId,
  ttlMs,
  prefix = 'cohort:presence:',
  now = Date.now,
}: RedisPresenceOptions): PresenceStore {
  const userKey = (userId: string) => `${prefix}u:${userId}`;
  const replicaKey = (instance: string) => `${prefix}r:${instance}`;
  const replicasKey = `${prefix}replicas`;
  const member = (socketId: string) => `${instanceId}|${socketId}`;
  const userKeyTtl = ttlMs * 2;
  // Long enough for a sweeper to claim it; short enough that an abandoned one does not linger.
  const replicaKeyTtl = ttlMs * 10;

  const evalNumber = async (script: string, key: string, ...args: (string | number)[]): Promise<number> => {
    const result: unknown = await redis.eval(script, 1, key, ...args);
    return Number(result);
  };

  // When this replica last said it is alive (its heartbeat says so too); adds repeat it at most once a second.
  let replicaSeenAt = Number.NEGATIVE_INFINITY;
  // Users this replica's hash already names since the heartbeat last rewrote it: a user's next socket skips it.
  let inHash = new Set<string>();

  const script = (change: Change, t: number): [string, number, string, ...(string | number)[]] =>
    change.add
      ? [ADD, 1, userKey(change.userId), member(change.socketId), t + ttlMs, t, userKeyTtl]
      : [REMOVE, 1, userKey(change.userId), member(change.socketId), t];

  /**
   * Sockets connecting or leaving in the same turn of the event loop (a reconnect storm) are written in one round
   * trip, in the order they came (a socket's remove never overtakes its add): the replica's liveness and who lives
   * here (for the sweep) when they changed, then each socket's own script. A lone socket of a user already named
   * here costs one command.
   */
  const changes = createBatcher<Change, boolean>({
    maxInFlight: 4,
    maxItems: 256,
    maxWeight: 256,
    weigh: () => 1,
    run: async (batch) => {
      const t = now();
      const touch = t - replicaSeenAt >= 1000 && batch.some((change) => change.add);
      const newcomers = batch.filter((change) => change.add && !inHash.has(change.userId));
      const only = batch.length === 1 && !touch && newcomers.length === 0 ? batch[0] : undefined;
      if (only) return [{ ok: true, value: Number(await redis.eval(...script(only, t))) === 1 }];

      const pipeline = redis.pipeline();
      let shared = 0;
      if (touch) {
        replicaSeenAt = t;
        pipeline.zadd(replicasKey, t, instanceId);
        shared += 1;
      }
      if (newcomers.length > 0) {
        const fields = newcomers.flatMap(({ userId, chatIds }) => [userId, JSON.stringify(chatIds)]);
        pipeline.hset(replicaKey(instanceId), ...fields).pexpire(replicaKey(instanceId), replicaKeyTtl);
        shared += 2;
      }
      for (const change of batch) pipeline.eval(...script(change, t));
      const results = await pipeline.exec();
      if (!results) throw new Error('pipeline discarded');
      const failed = results.slice(0, shared).find(([err]) => err !== null);
      if (failed?.[0]) throw failed[0];
      for (const { userId } of newcomers) inHash.add(userId);
      return results
        .slice(shared)
        .map(([error, value]): Outcome<boolean> =>
          error ? { ok: false, error } : { ok: true, value: Number(value) === 1 },
        );
    },
  });

  return {
    add: ({ userId, socketId, chatIds }) => changes.submit({ add: true, userId, socketId, chatIds }),
    remove: (userId, socketId) => changes.submit({ add: false, userId, socketId, chatIds: [] }),
    async refresh(users) {
      const t = now();
      replicaSeenAt = t;
      const pipeline = redis.pipeline().zadd(replicasKey, t, instanceId).del(replicaKey(instanceId));
      const fields: string[] = [];
      for (const { userId, socketIds, chatIds } of users) {
        const scores: (string | number)[] = [];
        for (const socketId of socketIds) scores.push(t + ttlMs, member(socketId));
        if (scores.length > 0) pipeline.zadd(userKey(userId), ...scores).pexpire(userKey(userId), userKeyTtl);
        fields.push(userId, JSON.stringify(chatIds));
      }
      if (fields.length > 0)
        pipeline.hset(replicaKey(instanceId), ...fields).pexpire(replicaKey(instanceId), replicaKeyTtl);
      resultsOf(await pipeline.exec());
      inHash = new Set(users.map(({ userId }) => userId));
    },
    async sweep() {
      const t = now();
      const dead = (await redis.zrangebyscore(replicasKey, '-inf', t - ttlMs)).filter(
        (id) => id !== instanceId,
      );
      const offline: OfflineUser[] = [];
      for (const instance of dead) {
        // ZREM is the claim: of all the replicas sweeping, exactly one removes the entry and cleans up.
        if ((await redis.zrem(replicasKey, instance)) !== 1) continue;
        const users = await redis.hgetall(replicaKey(instance));
        for (const [userId, rawChats] of Object.entries(users)) {
          if ((await evalNumber(SWEEP_USER, userKey(userId), `${instance}|`, t)) === 1) {
            offline.push({ userId, chatIds: parseChatIds(rawChats) });
          }
        }
        await redis.del(replicaKey(instance));
      }
      return offline;
    },
    async online(userIds) {
      if (userIds.length === 0) return [];
      const t = now();
      const pipeline = redis.pipeline();
      for (const id of userIds) pipeline.zcount(userKey(id), t, '+inf');
      const results = (await pipeline.exec()) ?? [];
      return userIds.filter((_, i) => Number(results[i]?.[1] ?? 0) > 0);
    },
  };
}

/** A pipeline's replies; throws its first error. */
function resultsOf(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('pipeline discarded');
  const failed = results.find(([err]) => err !== null);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}

function parseChatIds(raw: string): string[] {
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
