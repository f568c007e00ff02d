import { z } from 'zod';
import type { AiEvent, EventBus, Logger, Unsubscribe } from '@cohort/common';
import type { RealtimeMetrics } from '../metrics';
import { chatRoom, type RealtimeServer } from '../socket-types';

const aiDeltaSchema = z.object({
  type: z.literal('ai:delta'),
  chatId: z.string(),
  streamId: z.string(),
  replyTo: z.string(),
  index: z.number().int().min(0),
  delta: z.string(),
});

/**
 * Relays the assistant's deltas (`ai-events` on the bus) to this replica's sockets of the chat, like chat events:
 * every replica receives each delta once and emits it only locally, so every socket of the chat gets it once. A
 * delta at or below the highest index already relayed for its stream is dropped (a re-published one); a client
 * that missed some (it reconnected) asks `ai:resume`.
 */
export async function startAiDeltaRelay({
  io,
  bus,
  metrics,
  logger,
  streamsTracked = 10_000,
}: {
  io: RealtimeServer;
  bus: EventBus;
  metrics: RealtimeMetrics;
  logger: Logger;
  streamsTracked?: number;
}): Promise<Unsubscribe> {
  const highest = new Map<string, number>();
  const local = io.local;
  return bus.subscribe('ai-events', (raw: AiEvent) => {
    const parsed = aiDeltaSchema.safeParse(raw);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3) }, 'dropping malformed ai event');
      return;
    }
    const { chatId, streamId, replyTo, index, delta } = parsed.data;
    const seen = highest.get(streamId);
    if (seen !== undefined && index <= seen) return;
    highest.delete(streamId);
    highest.set(streamId, index);
    if (highest.size > streamsTracked) {
      const oldest = highest.keys().next().value;
      if (oldest !== undefined) highest.delete(oldest);
    }
    local.to(chatRoom(chatId)).emit('ai:delta', { chatId, streamId, replyTo, index, delta });
    metrics.eventsOut.inc({ event: 'ai:delta' });
  });
}
