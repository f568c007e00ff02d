import type { Redis } from 'ioredis';

/**
 * Where an assistant answer's deltas live while it streams and for a while after (DESIGN §7, `ai:resume`): Redis
 * in the cluster, so any realtime replica serves a resume, also after the replica a client streamed from died and
 * after the assistant replica generating it died; in-process when embedded. One writer per stream (the assistant
 * replica generating it) appends deltas in index order; a delta's index is its position in the list.
 */
export interface AiStreamMeta {
  chatId: string;
  /** The triggering message's id. */
  replyTo: string;
}

export interface AiStreamSnapshot extends AiStreamMeta {
  /** The deltas after the asked index, in index order. */
  deltas: { index: number; delta: string }[];
  /** No delta will follow: the answer is stored (or being stored). */
  ended: boolean;
}

export interface AiStreamStore {
  open(streamId: string, meta: AiStreamMeta): Promise<void>;
  /** Appends the next deltas (their indexes continue from the stored count). */
  append(streamId: string, deltas: readonly string[]): Promise<void>;
  end(streamId: string): Promise<void>;
  /** The stream's deltas after `afterIndex` (−1: all); null when unknown or expired. */
  read(streamId: string, afterIndex: number): Promise<AiStreamSnapshot | null>;
}

/** How long a stream stays readable after its last write. */
export const AI_STREAM_TTL_SECONDS = 3600;

const metaKey = (streamId: string) => `cohort:ai:stream:{${streamId}}`;
const deltasKey = (streamId: string) => `cohort:ai:stream:{${streamId}}:deltas`;

export function createRedisAiStreamStore(redis: Redis, ttlSeconds = AI_STREAM_TTL_SECONDS): AiStreamStore {
  return {
    async open(streamId, meta) {
      await redis
        .multi()
        .hset(metaKey(streamId), 'chatId', meta.chatId, 'replyTo', meta.replyTo, 'ended', '0')
        .expire(metaKey(streamId), ttlSeconds)
        .exec();
    },
    async append(streamId, deltas) {
      if (deltas.length === 0) return;
      await redis
        .multi()
        .rpush(deltasKey(streamId), ...deltas)
        .expire(deltasKey(streamId), ttlSeconds)
        .expire(metaKey(streamId), ttlSeconds)
        .exec();
    },
    async end(streamId) {
      await redis.multi().hset(metaKey(streamId), 'ended', '1').expire(metaKey(streamId), ttlSeconds).exec();
    },
    async read(streamId, afterIndex) {
      const from = Math.max(0, afterIndex + 1);
      const result = await redis
        .multi()
        .hgetall(metaKey(streamId))
        .lrange(deltasKey(streamId), from, -1)
        .exec();
      if (!result) return null;
      const [[metaErr, meta], [deltasErr, deltas]] = result as [
        [Error | null, Record<string, string>],
        [Error | null, string[]],
      ];
      if (metaErr) throw metaErr;
      if (deltasErr) throw deltasErr;
      if (!meta.chatId || !meta.replyTo) return null;
      return {
        chatId: meta.chatId,
        replyTo: meta.replyTo,
        ended: meta.ended === '1',
        deltas: deltas.map((delta, i) => ({ index: from + i, delta })),
      };
    },
  };
}

interface MemoryStream extends AiStreamMeta {
  deltas: string[];
  ended: boolean;
  expiry: NodeJS.Timeout;
}

/** In-process (embedded mode): the same semantics, expiry by timer. */
export function createMemoryAiStreamStore(ttlSeconds = AI_STREAM_TTL_SECONDS): AiStreamStore {
  const streams = new Map<string, MemoryStream>();
  const touch = (streamId: string, stream: MemoryStream) => {
    clearTimeout(stream.expiry);
    stream.expiry = setTimeout(() => streams.delete(streamId), ttlSeconds * 1000);
    stream.expiry.unref();
  };
  return {
    async open(streamId, meta) {
      const stream: MemoryStream = {
        ...meta,
        deltas: [],
        ended: false,
        expiry: setTimeout(() => undefined, 0),
      };
      streams.set(streamId, stream);
      touch(streamId, stream);
    },
    async append(streamId, deltas) {
      const stream = streams.get(streamId);
      if (!stream) return;
      stream.deltas.push(...deltas);
      touch(streamId, stream);
    },
    async end(streamId) {
      const stream = streams.get(streamId);
      if (!stream) return;
      stream.ended = true;
      touch(streamId, stream);
    },
    async read(streamId, afterIndex) {
      const stream = streams.get(streamId);
      if (!stream) return null;
      const from = Math.max(0, afterIndex + 1);
      return {
        chatId: stream.chatId,
        replyTo: stream.replyTo,
        ended: stream.ended,
        deltas: stream.deltas.slice(from).map((delta, i) => ({ index: from + i, delta })),
      };
    },
  };
}
