import type { Redis } from 'ioredis';
import { createBatcher, pipelineReplies, redisRoundTrips, type Outcome } from '@cohort/common';
import type { PresenceEntry, PresenceStore, Sweep } from './presence.store';
import { socketTtlMs } from './renewal';

export interface RedisPresenceOptions {
  redis: Redis;
  /** Unique per process start (a restarted replica must not be mistaken for its previous life). */
  instanceId: string;
  /** A replica silent for this long is dead (PRESENCE_TTL_MS); its sockets' entries live longer (renewal.ts). */
  ttlMs: number;
  prefix?: string;
  now?: () => number;
}

/*
 * Keys:
 *   <p>u:<userId>      ZSET  member "<instance>|<socketId>", score = expiry (ms)  — the user's live sockets anywhere
 *   <p>r:<instance>    HASH  userId → JSON chat ids                               — who lives on a replica (for the sweep)
 *   <p>replicas        ZSET  member instance, score = last heartbeat (ms)         — which replicas are alive
 * A heartbeat writes the replica's own two keys; a socket's expiry is renewed once per renewal round
 * (presence/renewal.ts). Each script touches one key, so it also runs on Redis Cluster.
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

// Removes every socket of a dead instance: returns {1 when that removal left the user with none, else 0,
// then the removed socket ids}.
const SWEEP_USER = `
local out = {0}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('ZREM', KEYS[1], m)
    out[#out + 1] = string.sub(m, string.len(ARGV[1]) + 1)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if #out > 1 and redis.call('ZCARD', KEYS[1]) == 0 then out[1] = 1 end
return out`;

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
  // Adds, removals, beats and renewals go in this turn's round trip (a storm's handshakes share it), in their order.
  const roundTrips = redisRoundTrips(redis);
  const socketTtl = socketTtlMs(ttlMs);
  const userKeyTtl = socketTtl * 2;
  // As long as the sockets it names, so a sweeper coming late still finds them; the heartbeat keeps it alive.
  const replicaKeyTtl = socketTtl;

  // When this replica last said it is alive (its heartbeat says so too); adds repeat it at most once a second.
  let replicaSeenAt = Number.NEGATIVE_INFINITY;
  // The replicas set did not name this replica when it last wrote itself there (Redis lost its data, a sweeper took
  // it, or it is new): the next heartbeat renews everything.
  let missed = false;
  // This replica's sockets by user, as they connect and leave (whatever Redis answers).
  const here = new Map<string, Set<string>>();
  // The users this replica's hash names, as written (a write that fails takes its users out, to be written again).
  let inHash = new Set<string>();

  const script = (change: Change, t: number): [string, number, string, ...(string | number)[]] =>
    change.add
      ? [ADD, 1, userKey(change.userId), member(change.socketId), t + socketTtl, t, userKeyTtl]
      : [REMOVE, 1, userKey(change.userId), member(change.socketId), t];

  // Idempotent: a removal retried after Redis refused it is not counted twice.
  const count = ({ add, userId, socketId }: Change) => {
    const ids = here.get(userId) ?? new Set<string>();
    if (add) here.set(userId, ids.add(socketId));
    else if (ids.delete(socketId) && ids.size === 0) here.delete(userId);
  };

  /**
   * Sockets connecting or leaving in the same turn of the event loop (a reconnect storm) are written in one round
   * trip, in the order they came (a socket's remove never overtakes its add): the replica's liveness and who lives
   * here (for the sweep) when they changed, then each socket's own script. A socket of a user whose presence here
   * does not change (not their first socket here, nor their last) costs one command.
   */
  const changes = createBatcher<Change, boolean>({
    maxInFlight: 4,
    maxItems: 256,
    maxWeight: 256,
    weigh: () => 1,
    run: async (batch) => {
      const t = now();
      const touch = t - replicaSeenAt >= 1000 && batch.some((change) => change.add);
      const arrived = new Map<string, string[]>();
      const left = new Set<string>();
      for (const { add, userId, chatIds } of batch) {
        if (add && here.has(userId) && !inHash.has(userId)) arrived.set(userId, chatIds);
        else if (!here.has(userId) && inHash.has(userId)) left.add(userId);
      }
      let shared = 0;
      if (touch) replicaSeenAt = t;
      const sent = roundTrips.send((pipeline) => {
        if (touch) {
          pipeline.zadd(replicasKey, t, instanceId);
          shared += 1;
        }
        if (arrived.size > 0) {
          const fields = [...arrived].flatMap(([userId, chatIds]) => [userId, JSON.stringify(chatIds)]);
          pipeline.hset(replicaKey(instanceId), ...fields).pexpire(replicaKey(instanceId), replicaKeyTtl);
          shared += 2;
        }
        if (left.size > 0) {
          pipeline.hdel(replicaKey(instanceId), ...left);
          shared += 1;
        }
        for (const change of batch) pipeline.eval(...script(change, t));
      });
      // Queued before the reply: a batch leaving after this one writes after it, on the same connection.
      for (const userId of arrived.keys()) inHash.add(userId);
      for (const userId of left) inHash.delete(userId);
      const unwritten = () => {
        for (const userId of [...arrived.keys(), ...left]) inHash.delete(userId);
      };
      const results = await sent.catch((err: unknown) => {
        unwritten();
        throw err;
      });
      const failed = results.slice(0, shared).find(([err]) => err !== null);
      if (failed?.[0]) {
        unwritten();
        throw failed[0];
      }
      if (touch && Number(results[0]?.[1]) === 1) missed = true;
      return results
        .slice(shared)
        .map(([error, value]): Outcome<boolean> =>
          error ? { ok: false, error } : { ok: true, value: Number(value) === 1 },
        );
    },
  });

  const submit = (change: Change) => {
    count(change);
    return changes.submit(change);
  };

  return {
    add: ({ userId, socketId, chatIds }) => submit({ add: true, userId, socketId, chatIds }),
    remove: (userId, socketId) => submit({ add: false, userId, socketId, chatIds: [] }),
    async beat() {
      const t = now();
      replicaSeenAt = t;
      const [added] = pipelineReplies(
        await roundTrips.send((pipeline) =>
          pipeline.zadd(replicasKey, t, instanceId).pexpire(replicaKey(instanceId), replicaKeyTtl),
        ),
      );
      // ZADD counts the members it added: 1 when this replica was missing.
      // (Replies come in order: a batch's touch that found it missing answered before this, so `missed` says so.)
      const intact = Number(added) === 0 && !missed;
      missed = false;
      return intact;
    },
    async renew(users, all) {
      const t = now();
      const sent = roundTrips.send((pipeline) => {
        if (all) pipeline.del(replicaKey(instanceId));
        const fields: string[] = [];
        for (const { userId, socketIds, chatIds } of users) {
          const scores: (string | number)[] = [];
          for (const socketId of socketIds) scores.push(t + socketTtl, member(socketId));
          if (scores.length > 0)
            pipeline.zadd(userKey(userId), ...scores).pexpire(userKey(userId), userKeyTtl);
          fields.push(userId, JSON.stringify(chatIds));
        }
        if (fields.length > 0)
          pipeline.hset(replicaKey(instanceId), ...fields).pexpire(replicaKey(instanceId), replicaKeyTtl);
      });
      if (all) inHash = new Set();
      pipelineReplies(await sent);
      for (const { userId } of users) inHash.add(userId);
    },
    async sweep() {
      const t = now();
      const dead = (await redis.zrangebyscore(replicasKey, '-inf', t - ttlMs)).filter(
        (id) => id !== instanceId,
      );
      const swept: Sweep = { replicas: [], users: [] };
      for (const instance of dead) {
        // ZREM is the claim: of all the replicas sweeping, exactly one removes the entry and cleans up.
        if ((await redis.zrem(replicasKey, instance)) !== 1) continue;
        swept.replicas.push(instance);
        const users = Object.entries(await redis.hgetall(replicaKey(instance)));
        const pipeline = redis.pipeline();
        for (const [userId] of users) pipeline.eval(SWEEP_USER, 1, userKey(userId), `${instance}|`, t);
        const results = users.length > 0 ? pipelineReplies(await pipeline.exec()) : [];
        users.forEach(([userId, rawChats], i) => {
          const [offline, ...socketIds] = sweptOf(results[i]);
          if (socketIds.length > 0)
            swept.users.push({ userId, socketIds, chatIds: parseChatIds(rawChats), offline: offline === 1 });
        });
        await redis.del(replicaKey(instance));
      }
      return swept;
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

/** SWEEP_USER's reply: the offline flag, then the removed socket ids. */
function sweptOf(reply: unknown): [number, ...string[]] {
  if (!Array.isArray(reply)) return [0];
  const [flag, ...ids]: unknown[] = reply;
  return [Number(flag), ...ids.filter((id): id is string => typeof id === 'string')];
}

function parseChatIds(raw: string): string[] {
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
