import type { Redis } from 'ioredis';

/**
 * Which stream answers which trigger (DESIGN §7: one answer per trigger): the first replica to take a trigger
 * records its streamId; a replica taking the trigger over finds it and finishes that stream instead of starting
 * another one.
 */
export interface TriggerStreams {
  /** Records `streamId` for the trigger unless one is recorded: the recorded one, and whether it was there. */
  claim(messageId: string, streamId: string): Promise<{ streamId: string; existed: boolean }>;
}

/** Kept well past any redelivery (a pending trigger is answered within minutes, or its chat is gone). */
const TTL_SECONDS = 7 * 24 * 3600;

export function createRedisTriggerStreams(redis: Redis): TriggerStreams {
  return {
    async claim(messageId, streamId) {
      const key = `cohort:ai:trigger-stream:${messageId}`;
      const set = await redis.set(key, streamId, 'EX', TTL_SECONDS, 'NX');
      if (set === 'OK') return { streamId, existed: false };
      const existing = await redis.get(key);
      return existing ? { streamId: existing, existed: true } : { streamId, existed: false };
    },
  };
}

export function createMemoryTriggerStreams(max = 100_000): TriggerStreams {
  const streams = new Map<string, string>();
  return {
    async claim(messageId, streamId) {
      const existing = streams.get(messageId);
      if (existing) return { streamId: existing, existed: true };
      if (streams.size >= max) {
        const oldest = streams.keys().next().value;
        if (oldest !== undefined) streams.delete(oldest);
      }
      streams.set(messageId, streamId);
      return { streamId, existed: false };
    },
  };
}
