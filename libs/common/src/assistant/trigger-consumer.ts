import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../logger';
import { createChatLanes, type ChatLanes, type LaneEntry, type TriggerConsumer } from './chat-lanes';
import { TRIGGER_PARTITIONS, triggerStreamKey, type AssistantTrigger } from './trigger-log';

export type { TriggerConsumer, TriggerDelivery, TriggerHandler } from './chat-lanes';

/** The consumer group every assistant replica reads the trigger partitions with. */
export const TRIGGER_GROUP = 'assistant';
const leaseKey = (partition: number) => `cohort:ai:lease:${partition}`;
const REPLICAS_KEY = 'cohort:ai:replicas';

export interface RedisTriggerConsumerOptions {
  /** Command connection (leases, acks, claims). */
  redis: Redis;
  /** A connection of its own for the blocking XREADGROUP. */
  reader: Redis;
  /** Unique per live replica: the lease holder and the consumer name in the group. */
  replicaId: string;
  logger: Logger;
  /** How long a lease lives without renewal: a dead replica's partitions are taken over after it. */
  leaseMs?: number;
  /** Entries held in memory (queued or being handled) before reading pauses. */
  maxInFlight?: number;
  partitions?: number;
  /** How long a read blocks (bounds how fast a newly owned partition is read). */
  blockMs?: number;
}

const triggerSchema = z.object({
  chatId: z.string().min(1),
  messageId: z.string().min(1),
  seq: z.number().int().min(1),
  senderId: z.string().min(1),
});

// Renew or release a lease only while this replica still holds it.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

type StreamEntries = [id: string, fields: string[] | null][];
type ReadReply = [key: string, entries: StreamEntries][] | null;

interface Owned {
  /** Pending entries (claimed from a previous owner, or left by this replica's failed attempts) are read first. */
  pendingRead: boolean;
  /** Over this replica's fair share: no more reads; the lease goes once its entries are done. */
  releasing: boolean;
}

/**
 * The assistant's side of the Redis trigger log (trigger-log.ts): partitions are leased by replicas (a key per
 * partition with a TTL, renewed; each live replica takes its fair share, live replicas heartbeat in a sorted set),
 * each partition stream is read with the consumer group `assistant`. When a replica acquires a partition it first
 * claims every pending entry of the group (XAUTOCLAIM: the previous owner died or let go of it) and handles them
 * in stream order before reading new ones. An entry is acknowledged only after its handler resolved (the answer is
 * stored), so a crash leaves it pending for the next owner.
 */
export function createRedisTriggerConsumer(options: RedisTriggerConsumerOptions): TriggerConsumer {
  const { redis, reader, replicaId, logger } = options;
  const leaseMs = options.leaseMs ?? 6_000;
  const partitions = options.partitions ?? TRIGGER_PARTITIONS;
  const maxInFlight = options.maxInFlight ?? 200;
  const blockMs = options.blockMs ?? Math.min(1_000, Math.max(100, Math.floor(leaseMs / 4)));
  const owned = new Map<number, Owned>();
  let lanes: ChatLanes | undefined;
  let running = false;
  let ticker: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let reading: Promise<void> = Promise.resolve();

  const toEntry = (partition: number, id: string, fields: string[] | null, redelivered: boolean) => {
    const raw = fields && fields[0] === 't' ? fields[1] : undefined;
    let trigger: AssistantTrigger | undefined;
    if (raw !== undefined) {
      try {
        const parsed = triggerSchema.safeParse(JSON.parse(raw));
        if (parsed.success) trigger = parsed.data;
      } catch {
        trigger = undefined;
      }
    }
    if (!trigger) {
      // Trimmed away (null fields) or not a trigger: nothing to answer, so it must not stay pending.
      logger.warn({ partition, entryId: id }, 'dropping an unreadable trigger entry');
      void redis.xack(triggerStreamKey(partition), TRIGGER_GROUP, id).catch(() => undefined);
      return undefined;
    }
    const entry: LaneEntry = { id: `${partition}:${id}`, group: String(partition), trigger, redelivered };
    return entry;
  };

  const ensureGroup = async (partition: number) => {
    try {
      // From the start of the stream: triggers appended before any assistant ran are answered too.
      await redis.xgroup('CREATE', triggerStreamKey(partition), TRIGGER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  };

  const claimPending = async (partition: number) => {
    let cursor = '0-0';
    do {
      const reply = (await redis.xautoclaim(
        triggerStreamKey(partition),
        TRIGGER_GROUP,
        replicaId,
        0,
        cursor,
        'COUNT',
        100,
        'JUSTID',
      )) as [string, string[], string[]?];
      cursor = reply[0];
    } while (cursor !== '0-0' && running);
  };

  const acquire = async (partition: number): Promise<boolean> => {
    const ok = await redis.set(leaseKey(partition), replicaId, 'PX', leaseMs, 'NX');
    if (ok !== 'OK') return false;
    await ensureGroup(partition);
    await claimPending(partition);
    owned.set(partition, { pendingRead: true, releasing: false });
    logger.info({ partition }, 'trigger partition acquired');
    return true;
  };

  const release = async (partition: number) => {
    owned.delete(partition);
    await redis.eval(RELEASE, 1, leaseKey(partition), replicaId);
    logger.info({ partition }, 'trigger partition released');
  };

  /** Heartbeat, renew, then move toward this replica's fair share of the partitions. */
  const tick = async () => {
    const now = Date.now();
    const [, , live] = (await redis
      .multi()
      .zadd(REPLICAS_KEY, String(now), replicaId)
      .zremrangebyscore(REPLICAS_KEY, '-inf', now - leaseMs)
      .zrange(REPLICAS_KEY, '0', '-1')
      .exec()
      .then((r) => (r ?? []).map(([err, value]) => (err ? [] : value)))) as [unknown, unknown, string[]];
    const replicas = [...live].sort();
    const rank = Math.max(0, replicas.indexOf(replicaId));
    const count = Math.max(1, replicas.length);
    const share = Math.floor(partitions / count) + (rank < partitions % count ? 1 : 0);

    for (const partition of [...owned.keys()]) {
      const renewed = await redis.eval(RENEW, 1, leaseKey(partition), replicaId, String(leaseMs));
      if (renewed !== 1) {
        owned.delete(partition);
        logger.warn({ partition }, 'trigger partition lease lost');
      }
    }
    const holding = [...owned.entries()].filter(([, o]) => !o.releasing);
    if (holding.length > share) {
      for (const [, state] of holding.slice(share)) state.releasing = true;
    }
    for (const [partition, state] of owned) {
      if (state.releasing && (lanes?.size(String(partition)) ?? 0) === 0) await release(partition);
    }
    let wanted = share - [...owned.values()].filter((o) => !o.releasing).length;
    for (let offset = 0; offset < partitions && wanted > 0 && running; offset++) {
      // Start at a replica-dependent partition so replicas starting together do not race for the same ones.
      const partition = (offset + rank * Math.ceil(partitions / count)) % partitions;
      if (owned.has(partition)) continue;
      if (await acquire(partition)) wanted--;
    }
  };

  const scheduleTick = () => {
    ticking = tick().catch((err: unknown) => logger.warn({ err }, 'trigger lease round failed'));
  };

  const readPending = async (partition: number) => {
    // This consumer's pending list in stream order (what it claimed, and what it had taken before a restart).
    let after = '0';
    for (;;) {
      const reply = (await reader.xreadgroup(
        'GROUP',
        TRIGGER_GROUP,
        replicaId,
        'COUNT',
        100,
        'STREAMS',
        triggerStreamKey(partition),
        after,
      )) as ReadReply;
      const entries = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        const entry = toEntry(partition, id, fields, true);
        if (entry) lanes?.push(entry);
      }
      if (entries.length < 100 || !running) break;
      after = entries[entries.length - 1]![0];
    }
    const state = owned.get(partition);
    if (state) state.pendingRead = false;
  };

  const readLoop = async () => {
    while (running) {
      try {
        if (!lanes || lanes.size() >= maxInFlight) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        for (const [partition, state] of owned) {
          if (state.pendingRead && !state.releasing) await readPending(partition);
        }
        const readable = [...owned.entries()]
          .filter(([, s]) => !s.releasing && !s.pendingRead)
          .map(([p]) => p);
        if (readable.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, blockMs));
          continue;
        }
        const reply = (await reader.xreadgroup(
          'GROUP',
          TRIGGER_GROUP,
          replicaId,
          'COUNT',
          100,
          'BLOCK',
          blockMs,
          'STREAMS',
          ...readable.map(triggerStreamKey),
          ...readable.map(() => '>'),
        )) as ReadReply;
        for (const [key, entries] of reply ?? []) {
          const partition = Number(key.slice(key.lastIndexOf(':') + 1));
          for (const [id, fields] of entries) {
            const entry = toEntry(partition, id, fields, false);
            if (entry) lanes?.push(entry);
          }
        }
      } catch (err) {
        if (!running) return;
        logger.warn({ err }, 'reading triggers failed');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };

  return {
    async start(handler) {
      if (running) throw new Error('the trigger consumer is already started');
      running = true;
      lanes = createChatLanes({
        handler,
        logger,
        done: async (entry) => {
          const [partition, id] = [entry.group, entry.id.slice(entry.id.indexOf(':') + 1)];
          await redis.xack(triggerStreamKey(Number(partition)), TRIGGER_GROUP, id);
        },
      });
      scheduleTick();
      await ticking;
      ticker = setInterval(
        () => {
          void ticking.then(scheduleTick);
        },
        Math.max(100, Math.floor(leaseMs / 3)),
      );
      reading = readLoop();
    },
    async close() {
      if (!running) return;
      running = false;
      if (ticker) clearInterval(ticker);
      await ticking;
      await reading;
      await lanes?.drained(5_000);
      lanes?.stop();
      // Let go at once: another replica claims whatever is still pending without waiting for the lease to expire.
      for (const partition of [...owned.keys()]) {
        await release(partition).catch((err: unknown) =>
          logger.warn({ err, partition }, 'trigger lease release failed'),
        );
      }
      await redis.zrem(REPLICAS_KEY, replicaId).catch(() => undefined);
    },
  };
}
