import { z } from 'zod';
import type {
  Chat,
  ChatEvent,
  EventBus,
  Logger,
  Message,
  ReactionSummary,
  SessionEvent,
  Unsubscribe,
} from '@cohort/common';
import type { BlockPartners } from '../block-partners';
import type { LocalSockets } from '../local-sockets';
import type { RealtimeMetrics } from '../metrics';
import { chatRoom, userRoom, type RealtimeServer } from '../socket-types';
import type { RecentMessages } from '../sync/recent-messages';

export interface BusConsumersDeps {
  io: RealtimeServer;
  bus: EventBus;
  localSockets: LocalSockets;
  blockPartners: BlockPartners;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** Delivery to local sockets, shared with the send handler's outage fallback (made here when absent). */
  delivery?: ChatEventDelivery;
}

export interface ChatEventDeliveryDeps {
  io: RealtimeServer;
  localSockets: LocalSockets;
  /** Updated on `users:block` for the users with sockets here. */
  blockPartners: BlockPartners;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** How many recent message deliveries are remembered to drop a re-published duplicate. */
  dedupeSize?: number;
  /** Kept current with every message write delivered here (the catch-ups answered by this replica). */
  recentMessages?: RecentMessages;
}

/** Delivers one chat event to this replica's sockets, dropping a message already delivered here. */
export type ChatEventDelivery = (event: ChatEvent) => void;

// Bus payloads come from our own services, but a malformed one must be dropped, not crash the replica.
const messageSchema = z.looseObject({
  id: z.string(),
  chatId: z.string(),
  seq: z.number(),
  version: z.number().optional(),
});
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
  z.object({ type: z.literal('chat:changed'), chatId: z.string(), chat: z.looseObject({ id: z.string() }) }),
  z.object({
    type: z.literal('chat:reactions'),
    chatId: z.string(),
    messageId: z.string(),
    reactions: z.array(z.looseObject({ emoji: z.string(), count: z.number() })).max(20),
    reactionsVersion: z.number(),
  }),
  z.object({
    type: z.literal('users:block'),
    userIds: z.tuple([z.string(), z.string()]),
    blocked: z.boolean(),
  }),
]);
const sessionEventSchema = z.object({
  type: z.literal('session:revoked'),
  sessionId: z.string(),
  userId: z.string(),
});

/** Insertion-ordered map with a size bound: the highest version delivered of the most recent keys. */
class RecentVersions {
  private readonly versions = new Map<string, number>();
  constructor(private readonly max: number) {}
  /** True when `key` was already delivered at `version` or later; records `version` otherwise. */
  stale(key: string, version: number): boolean {
    const known = this.versions.get(key);
    if (known !== undefined && known >= version) return true;
    this.versions.delete(key);
    this.versions.set(key, version);
    if (this.versions.size > this.max) {
      const oldest = this.versions.keys().next().value;
      if (oldest !== undefined) this.versions.delete(oldest);
    }
    return false;
  }
}

/**
 * Delivery to this replica's sockets (`io.local`). A message is remembered by id and `version` (chat-api's
 * count of its writes: 1 when stored, +1 per edit and on the delete), so a publisher that retries, or the send
 * handler's fallback while the bus is down, never makes a client see it twice, while two edits of the same
 * millisecond are two versions and both are delivered; an edit older than one already delivered here is dropped
 * (its text is not the stored one).
 */
export function createChatEventDelivery({
  io,
  localSockets,
  blockPartners,
  metrics,
  logger,
  dedupeSize = 10_000,
  recentMessages,
}: ChatEventDeliveryDeps): ChatEventDelivery {
  const recent = new RecentVersions(dedupeSize);
  const local = io.local;
  const localRooms = io.of('/').adapter.rooms;
  // A socket here, connected or still in the handshake (a socket joins its user room late in the handshake).
  const hasLocalSockets = (userId: string) =>
    localRooms.has(userRoom(userId)) || localSockets.handshakingOf(userId).length > 0;

  return (raw: ChatEvent) => {
    const parsed = chatEventSchema.safeParse(raw);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.slice(0, 3) }, 'dropping malformed chat event');
      return;
    }
    const event = parsed.data;
    if (event.type === 'users:block') {
      // Only users with sockets here get an entry: the others fetch their partners at their next handshake.
      const [a, b] = event.userIds;
      if (hasLocalSockets(a)) blockPartners.update(a, b, event.blocked);
      if (hasLocalSockets(b)) blockPartners.update(b, a, event.blocked);
      return;
    }
    const room = chatRoom(event.chatId);
    switch (event.type) {
      case 'chat:new':
      case 'chat:updated':
      case 'chat:deleted': {
        const message = event.message as unknown as Message;
        // In the same turn as the delivery: a catch-up answered here sees every write its socket was not sent.
        recentMessages?.apply({ type: event.type, chatId: event.chatId, message });
        // A new message and its later writes are tracked apart: an edit overtaking the `chat:new` of the send
        // handler's fallback must not hide it. Without a version (a publisher predating it), the write's time is
        // the key, as before.
        const stream = event.type === 'chat:new' ? 'n' : 'w';
        const seen =
          event.message.version !== undefined
            ? recent.stale(`${stream}|${message.id}`, event.message.version)
            : recent.stale(
                `${event.type}|${message.id}|${message.editedAt ?? ''}|${message.deletedAt ?? ''}`,
                0,
              );
        if (seen) return;
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
      case 'chat:changed':
        local.to(room).emit('chat:changed', { chat: event.chat as unknown as Chat });
        break;
      case 'chat:reactions': {
        const { chatId, messageId, reactionsVersion } = event;
        const reactions = event.reactions as unknown as ReactionSummary[];
        recentMessages?.apply({ type: 'chat:reactions', chatId, messageId, reactions, reactionsVersion });
        // The whole summary, versioned: a client keeps the highest, whatever order replicas deliver in.
        if (recent.stale(`r|${messageId}`, reactionsVersion)) return;
        local.to(room).emit('chat:reactions', { chatId, messageId, reactions, reactionsVersion });
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
  blockPartners,
  metrics,
  logger,
  delivery,
}: BusConsumersDeps): Promise<Unsubscribe> {
  const onChatEvent =
    delivery ?? createChatEventDelivery({ io, localSockets, blockPartners, metrics, logger });

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
