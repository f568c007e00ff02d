import { z } from 'zod';
import type { Chat, ChatEvent, EventBus, Logger, Message, SessionEvent, Unsubscribe } from '@cohort/common';
import type { LocalSockets } from '../local-sockets';
import type { RealtimeMetrics } from '../metrics';
import { chatRoom, userRoom, type RealtimeServer } from '../socket-types';

export interface BusConsumersDeps {
  io: RealtimeServer;
  bus: EventBus;
  localSockets: LocalSockets;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** Delivery to local sockets, shared with the send handler's outage fallback (made here when absent). */
  delivery?: ChatEventDelivery;
}

export interface ChatEventDeliveryDeps {
  io: RealtimeServer;
  localSockets: LocalSockets;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** How many recent message deliveries are remembered to drop a re-published duplicate. */
  dedupeSize?: number;
}

/** Delivers one chat event to this replica's sockets, dropping a message already delivered here. */
export type ChatEventDelivery = (event: ChatEvent) => void;

// Bus payloads come from our own services, but a malformed one must be dropped, not crash the replica.
const messageSchema = z.looseObject({ id: z.string(), chatId: z.string(), seq: z.number() });
const idList = z.array(z.string()).max(10_000);
const chatEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('chat:new'), chatId: z.string(), message: messageSchema }),
  z.object({ type: z.literal('chat:updated'), chatId: z.string(), message: messageSchema }),
  z.object({ type: z.literal('chat:deleted'), chatId: z.string(), message: messageSchema }),
  z.object({ type: z.literal('chat:read'), chatId: z.string(), userId: z.string(), seq: z.number() }),
  z.object({
    type: z.literal('chat:added'),
    chatId: z.string(),
    userIds: idList,
    chat: z.looseObject({ id: z.string() }),
  }),
  z.object({ type: z.literal('chat:removed'), chatId: z.string(), userIds: idList }),
]);
const sessionEventSchema = z.object({
  type: z.literal('session:revoked'),
  sessionId: z.string(),
  userId: z.string(),
});

/** Insertion-ordered set with a size bound: remembers the most recent keys. */
class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max: number) {}
  /** True when `key` was already seen; records it otherwise. */
  seen(key: string): boolean {
    if (this.keys.has(key)) return true;
    this.keys.add(key);
    if (this.keys.size > this.max) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return false;
  }
}

/**
 * Delivery to this replica's sockets (`io.local`). A message is remembered by id and version, so a publisher
 * that retries, or the send handler's fallback while the bus is down, never makes a client see it twice.
 */
export function createChatEventDelivery({
  io,
  localSockets,
  metrics,
  logger,
  dedupeSize = 10_000,
}: ChatEventDeliveryDeps): ChatEventDelivery {
  const recent = new RecentKeys(dedupeSize);
  const local = io.local;

  return (raw: ChatEvent) => {
    const parsed = chatEventSchema.safeParse(raw);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3) }, 'dropping malformed chat event');
      return;
    }
    const event = parsed.data;
    const room = chatRoom(event.chatId);
    switch (event.type) {
      case 'chat:new':
      case 'chat:updated':
      case 'chat:deleted': {
        const message = event.message as unknown as Message;
        // A publisher that retries (at-least-once) must not make a client see a message twice.
        if (recent.seen(`${event.type}|${message.id}|${message.editedAt ?? ''}|${message.deletedAt ?? ''}`))
          return;
        local.to(room).emit(event.type, { message });
        break;
      }
      case 'chat:read':
        local.to(room).emit('chat:read', { chatId: event.chatId, userId: event.userId, seq: event.seq });
        break;
      case 'chat:added': {
        const users = event.userIds.map(userRoom);
        local.in(users).socketsJoin(room);
        for (const userId of event.userIds)
          for (const s of localSockets.handshakingOf(userId)) void s.join(room);
        local.to(users).emit('chat:added', { chat: event.chat as unknown as Chat });
        break;
      }
      case 'chat:removed': {
        const users = event.userIds.map(userRoom);
        local.in(users).socketsLeave(room);
        for (const userId of event.userIds)
          for (const s of localSockets.handshakingOf(userId)) void s.leave(room);
        local.to(users).emit('chat:removed', { chatId: event.chatId });
        break;
      }
    }
    metrics.eventsOut.inc({ event: event.type });
  };
}

/**
 * Delivery from the bus. Every replica receives every bus event once, and each emits ONLY to its own sockets
 * (`io.local`): a socket lives on exactly one replica, so every socket gets each event exactly once, with no
 * adapter round trip, no cross-replica request and no replica elected to broadcast. Membership changes and
 * revocations likewise act on local sockets only (no fetchSockets/serverSideEmit).
 */
export async function startBusConsumers({
  io,
  bus,
  localSockets,
  metrics,
  logger,
  delivery,
}: BusConsumersDeps): Promise<Unsubscribe> {
  const onChatEvent = delivery ?? createChatEventDelivery({ io, localSockets, metrics, logger });

  const onSessionEvent = (raw: SessionEvent) => {
    const parsed = sessionEventSchema.safeParse(raw);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3) }, 'dropping malformed session event');
      return;
    }
    const sockets = localSockets.session(parsed.data.sessionId);
    if (sockets.length > 0)
      logger.info(
        { sessionId: parsed.data.sessionId, sockets: sockets.length },
        'session revoked: disconnecting',
      );
    for (const socket of sockets) socket.disconnect(true);
  };

  const guard =
    <T>(name: string, fn: (payload: T) => void) =>
    (payload: T) => {
      try {
        fn(payload);
      } catch (err) {
        logger.error({ err, channel: name }, 'bus event handling failed');
      }
    };

  const unsubscribers = await Promise.all([
    bus.subscribe('chat-events', guard('chat-events', onChatEvent)),
    bus.subscribe('session-events', guard('session-events', onSessionEvent)),
  ]);
  return async () => {
    await Promise.all(unsubscribers.map((u) => u()));
  };
}
