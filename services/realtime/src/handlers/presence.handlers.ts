import { AppError, parseOrThrow, type Logger } from '@cohort/common';
import type { ChatApiClient } from '../clients/chat-api.client';
import type { RealtimeMetrics } from '../metrics';
import type { PresenceEntry, PresenceStore } from '../presence/presence.store';
import {
  chatRoom,
  presenceGetPayloadSchema,
  userRoom,
  type RealtimeServer,
  type RealtimeSocket,
} from '../socket-types';
import { claimsOf, onEvent } from './handler-kit';

export interface PresenceHandlersDeps {
  io: RealtimeServer;
  store: PresenceStore;
  chatApi: ChatApiClient;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** How often this replica re-asserts its sockets and sweeps dead replicas. */
  heartbeatMs: number;
}

export interface PresenceHandlers {
  (socket: RealtimeSocket): void;
  /** Starts the heartbeat and the dead-replica sweep. */
  start(): void;
  /**
   * Graceful drain: stop refreshing, and leave this replica's entries in place so clients reconnecting elsewhere
   * stay online without a flicker; the sweep of the other replicas reports those who do not come back.
   */
  drain(): void;
}

const chatIdsOf = (socket: RealtimeSocket): string[] =>
  [...socket.rooms].filter((room) => room.startsWith('chat:')).map((room) => room.slice('chat:'.length));

/**
 * Presence: `presence {userId, online}` goes to the rooms of the user's chats when their first socket on any
 * replica connects and when their last one leaves (several tabs, several replicas: one online, one offline).
 * The announcement crosses replicas through the adapter; it is rare next to messages, so it is off the hot path.
 */
export function createPresenceHandlers({
  io,
  store,
  chatApi,
  metrics,
  logger,
  heartbeatMs,
}: PresenceHandlersDeps): PresenceHandlers {
  const live = new Map<string, RealtimeSocket>();
  let draining = false;
  let timer: NodeJS.Timeout | undefined;

  const announce = (userId: string, chatIds: readonly string[], online: boolean) => {
    if (chatIds.length === 0) return;
    io.to(chatIds.map(chatRoom)).except(userRoom(userId)).emit('presence', { userId, online });
    metrics.eventsOut.inc({ event: 'presence' });
  };

  const register = (socket: RealtimeSocket): void => {
    const { userId } = socket.data;
    live.set(socket.id, socket);
    store.add({ userId, socketId: socket.id, chatIds: chatIdsOf(socket) }).then(
      (first) => {
        if (first) announce(userId, chatIdsOf(socket), true);
      },
      (err: unknown) => logger.warn({ err, userId }, 'presence add failed'),
    );

    let chatIdsAtExit: string[] = [];
    socket.on('disconnecting', () => {
      chatIdsAtExit = chatIdsOf(socket);
    });
    socket.on('disconnect', () => {
      live.delete(socket.id);
      if (draining) return;
      store.remove(userId, socket.id).then(
        (last) => {
          if (last) announce(userId, chatIdsAtExit, false);
        },
        (err: unknown) => logger.warn({ err, userId }, 'presence remove failed'),
      );
    });

    onEvent(socket, 'presence:get', logger, async (payload, reply, requestId) => {
      const { chatId } = parseOrThrow(presenceGetPayloadSchema, payload);
      if (!socket.rooms.has(chatRoom(chatId))) throw AppError.notFound('No such chat');
      const members = await chatApi.memberIds(claimsOf(socket), chatId, requestId);
      reply({ ok: true, online: await store.online(members) });
    });
  };

  const beat = async () => {
    const entries: PresenceEntry[] = [...live.values()].map((s) => ({
      userId: s.data.userId,
      socketId: s.id,
      chatIds: chatIdsOf(s),
    }));
    await store.refresh(entries);
    for (const { userId, chatIds } of await store.sweep()) announce(userId, chatIds, false);
  };

  return Object.assign(register, {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        beat().catch((err: unknown) => logger.warn({ err }, 'presence heartbeat failed'));
      }, heartbeatMs);
      timer.unref();
    },
    drain() {
      draining = true;
      clearInterval(timer);
      timer = undefined;
    },
  });
}
