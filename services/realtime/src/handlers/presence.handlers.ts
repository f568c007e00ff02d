import { AppError, presenceGetPayloadSchema } from '@cohort/common';
import type { ChatApiClient } from '../clients/chat-api.client';
import type { EventHandlers } from '../events/event-handler';
import type { PresenceStore } from '../presence/presence.store';
import { claimsOf } from '../sessions/claims';
import { chatRoom } from '../socket-types';

export interface PresenceHandlersDeps {
  store: PresenceStore;
  chatApi: ChatApiClient;
}

export type PresenceHandlers = EventHandlers<'presence:get'>;

/** `presence:get`: who among a chat's members is online now (`presence` events carry only changes). */
export function createPresenceHandlers({ store, chatApi }: PresenceHandlersDeps): PresenceHandlers {
  return {
    'presence:get': {
      payload: presenceGetPayloadSchema,
      async handle(socket, { chatId }, reply, requestId) {
        if (!socket.rooms.has(chatRoom(chatId))) throw AppError.notFound('No such chat');
        const members = await chatApi.memberIds(claimsOf(socket), chatId, requestId);
        reply({ ok: true, online: await store.online(members) });
      },
    },
  };
}
