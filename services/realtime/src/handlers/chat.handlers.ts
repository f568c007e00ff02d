import {
  AppError,
  chatReadPayloadSchema,
  chatSendPayloadSchema,
  chatSyncPayloadSchema,
  chatTypingPayloadSchema,
  PAGE_LIMIT_MAX,
  parseOrThrow,
  type Logger,
} from '@cohort/common';
import type { ChatApiClient } from '../clients/chat-api.client';
import type { ChatEventDelivery } from '../consumers/bus.consumers';
import type { RealtimeMetrics } from '../metrics';
import { chatRoom, type RealtimeSocket } from '../socket-types';
import { claimsOf, onEvent } from './handler-kit';

export interface ChatHandlersDeps {
  chatApi: ChatApiClient;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** Local delivery (the bus consumer's), used only while the bus subscription is down. */
  deliver: ChatEventDelivery;
  /** False while this replica cannot receive bus events (Redis away). */
  busConnected: () => boolean;
}

/**
 * chat:send / chat:sync / chat:read go through chat-api, the single writer and the authority on membership.
 * The send handler does not emit `chat:new` while the bus works: every stored message reaches the rooms through the bus event
 * chat-api publishes, so REST and socket sends are delivered the same way, exactly once.
 */
export function createChatHandlers({ chatApi, metrics, logger, deliver, busConnected }: ChatHandlersDeps) {
  return (socket: RealtimeSocket): void => {
    onEvent(socket, 'chat:send', logger, async (payload, reply, requestId) => {
      const end = metrics.sendAckSeconds.startTimer();
      try {
        const { chatId, text, clientMsgId } = parseOrThrow(chatSendPayloadSchema, payload);
        const { message, created } = await chatApi.sendMessage(
          claimsOf(socket),
          chatId,
          { text, clientMsgId },
          requestId,
        );
        reply({ ok: true, message });
        // Delivery normally comes only from the bus (in seq order, exactly once). While this replica's bus
        // subscription is down the bus cannot reach it: deliver what was just stored to the local sockets
        // (dedupe by id keeps it exactly once if the bus delivers it after all); others recover by chat:sync.
        if (created && !busConnected()) deliver({ type: 'chat:new', chatId, message });
        end({ outcome: 'ok' });
      } catch (err) {
        end({ outcome: 'error' });
        throw err;
      }
    });

    onEvent(socket, 'chat:sync', logger, async (payload, reply, requestId) => {
      const { chatId, afterSeq, limit = PAGE_LIMIT_MAX } = parseOrThrow(chatSyncPayloadSchema, payload);
      const messages = await chatApi.messagesAfter(claimsOf(socket), chatId, afterSeq, limit, requestId);
      reply({ ok: true, messages });
    });

    onEvent(socket, 'chat:read', logger, async (payload, reply, requestId) => {
      const { chatId, seq } = parseOrThrow(chatReadPayloadSchema, payload);
      await chatApi.markRead(claimsOf(socket), chatId, seq, requestId);
      reply({ ok: true });
    });

    onEvent(socket, 'chat:typing', logger, (payload, reply) => {
      const { chatId } = parseOrThrow(chatTypingPayloadSchema, payload);
      const room = chatRoom(chatId);
      // Room membership is the authorization: it mirrors chat-api's memberships for this socket.
      if (!socket.rooms.has(room)) throw AppError.notFound('No such chat');
      socket.to(room).emit('chat:typing', { chatId, userId: socket.data.userId });
      metrics.eventsOut.inc({ event: 'chat:typing' });
      reply({ ok: true });
    });
  };
}
