import type { Redis } from 'ioredis';

/**
 * Messages the assistant may have to answer, from chat-api (the only writer) to the assistant replicas, durably:
 * a Redis Stream per partition in the cluster (a chat always maps to the same partition, so one consumer sees a
 * chat's triggers in seq order), an in-process log when embedded. chat-api appends after the message is stored
 * (every message of an assistant chat, and group messages that call the assistant); the assistant decides.
 */
export interface AssistantTrigger {
  chatId: string;
  messageId: string;
  seq: number;
  senderId: string;
}

export interface TriggerLogWriter {
  append(trigger: AssistantTrigger): Promise<void>;
}

export const TRIGGER_PARTITIONS = 16;
/** Entries kept per partition stream (approximate trim): far more than any backlog of unanswered triggers. */
export const TRIGGER_STREAM_MAX_LENGTH = 100_000;

/** FNV-1a of the chat id, modulo the partitions: stable across processes and restarts. */
export function triggerPartition(chatId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < chatId.length; i++) {
    hash ^= chatId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % TRIGGER_PARTITIONS;
}

export const triggerStreamKey = (partition: number): string => `cohort:ai:triggers:${partition}`;

/** chat-api's side in the cluster: `XADD` to the chat's partition, the entry's one field `t` holding the JSON. */
export function createRedisTriggerLogWriter(redis: Redis): TriggerLogWriter {
  return {
    async append(trigger) {
      await redis.xadd(
        triggerStreamKey(triggerPartition(trigger.chatId)),
        'MAXLEN',
        '~',
        TRIGGER_STREAM_MAX_LENGTH,
        '*',
        't',
        JSON.stringify(trigger),
      );
    },
  };
}
