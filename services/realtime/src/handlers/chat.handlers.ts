import {
  AppError,
  chatReadPayloadSchema,
  chatSendPayloadSchema,
  chatSyncPayloadSchema,
  chatTypingPayloadSchema,
  PAGE_LIMIT_MAX,
} from '@cohort/common';
import type { BlockPartners } from '../block-partners';
import type { ChatApiClient } from '../clients/chat-api.client';
import type { ChatEventDelivery } from '../consumers/bus.consumers';
import type { EventHandlers } from '../events/event-handler';
import type { RealtimeMetrics } from '../metrics';
import { claimsOf } from '../sessions/claims';
import { chatRoom, userRoom } from '../socket-types';
import type { RecentMessages } from '../sync/recent-messages';

export interface ChatHandlersDeps {
  chatApi: ChatApiClient;
  metrics: RealtimeMetrics;
  /** Local delivery (the bus consumer's), used only while the bus subscription is down. */
  deliver: ChatEventDelivery;
  /** False while this replica cannot receive bus events (Redis away). */
  busConnected: () => boolean;
  /** Users who do not get the sender's typing (docs/security.md "Blocking"). */
  blockPartners: BlockPartners;
  /** The recent messages of chats this replica serves: catch-ups they answer do not ask chat-api. */
  recent: RecentMessages;
}

export type ChatHandlers = EventHandlers<'chat:send' | 'chat:sync' | 'chat:read' | 'chat:typing'>;

/**
 * chat:send / chat:sync / chat:read go through chat-api, the single writer and the authority on membership.
 * The send handler does not emit `chat:new` while the bus works: every stored message reaches the rooms through
 * the bus event chat-api publishes, so REST and socket sends are delivered the same way, exactly once.
 */
export function createChatHandlers({
  chatApi,
  metrics,
  deliver,
  busConnected,
  blockPartners,
  recent,
}: ChatHandlersDeps): ChatHandlers {
  return {
    'chat:send': {
      payload: chatSendPayloadSchema,
      timer: metrics.sendAckSeconds,
      async handle(socket, { chatId, ...body }, reply, requestId) {
        // text, clientMsgId and the optional replyTo and mentions: chat-api checks the references.
        const { message, created } = await chatApi.sendMessage(claimsOf(socket), chatId, body, requestId);
        reply({ ok: true, message });
        // Delivery normally comes only from the bus (in seq order, exactly once). While this replica's bus
        // subscription is down the bus cannot reach it: deliver what was just stored to the local sockets
        // (dedupe by id keeps it exactly once if the bus delivers it after all); others recover by chat:sync.
        if (created && !busConnected()) deliver({ type: 'chat:new', chatId, message });
      },
    },

    'chat:sync': {
      payload: chatSyncPayloadSchema,
      async handle(socket, { chatId, afterSeq, limit = PAGE_LIMIT_MAX }, reply, requestId) {
        // Answered here only for a socket in the chat's room (it mirrors the user's membership, as for typing,
        // and a message stored from now on reaches the socket live): sync/recent-messages.ts says why nothing
        // is lost. Another socket's catch-up of the chat already on its way to chat-api is waited for, once.
        const inRoom = () => socket.rooms.has(chatRoom(chatId));
        const kept = () => (inRoom() ? recent.page(chatId, afterSeq, limit) : undefined);
        let messages = kept();
        const asked = !messages && inRoom() ? recent.asking(chatId) : undefined;
        if (asked) {
          await asked;
          messages = kept();
        }
        if (messages) {
          metrics.syncs.inc({ answered_by: 'replica' });
          reply({ ok: true, messages });
          return;
        }
        const mark = recent.mark(chatId);
        try {
          messages = await chatApi.messagesAfter(claimsOf(socket), chatId, afterSeq, limit, requestId);
          recent.seed(mark, afterSeq, limit, messages);
        } finally {
          recent.release(mark);
        }
        metrics.syncs.inc({ answered_by: 'chat-api' });
        reply({ ok: true, messages });
      },
    },

    'chat:read': {
      payload: chatReadPayloadSchema,
      async handle(socket, { chatId, seq }, reply, requestId) {
        await chatApi.markRead(claimsOf(socket), chatId, seq, requestId);
        reply({ ok: true });
      },
    },

    'chat:typing': {
      payload: chatTypingPayloadSchema,
      handle(socket, { chatId }, reply) {
        const room = chatRoom(chatId);
        // Room membership is the authorization: it mirrors chat-api's memberships for this socket.
        if (!socket.rooms.has(room)) throw AppError.notFound('No such chat');
        const { userId } = socket.data;
        // Neither side of a block sees the other type; except() by user room holds on every replica.
        const partners = blockPartners.of(userId);
        const to = socket.to(room);
        (partners.size > 0 ? to.except([...partners].map(userRoom)) : to).emit('chat:typing', {
          chatId,
          userId,
        });
        metrics.eventsOut.inc({ event: 'chat:typing' });
        reply({ ok: true });
      },
    },
  };
}
