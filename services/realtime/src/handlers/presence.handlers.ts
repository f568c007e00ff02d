import { AppError, presenceGetPayloadSchema } from '@cohort/common';
import type { BlockPartners } from '../block-partners';
import type { ChatApiClient } from '../clients/chat-api.client';
import type { EventHandlers } from '../events/event-handler';
import type { PresenceStore } from '../presence/presence.store';
import { claimsOf } from '../sessions/claims';
import { chatRoom } from '../socket-types';

export interface PresenceHandlersDeps {
  store: PresenceStore;
  chatApi: ChatApiClient;
  /** Left out of the answer: neither side of a block sees the other online. */
  blockPartners: BlockPartners;
}

export type PresenceHandlers = EventHandlers<'presence:get'>;

/** `presence:get`: who among a chat's members is online now (`presence` events carry only changes). */
export function createPresenceHandlers({
  store,
  chatApi,
  blockPartners,
}: PresenceHandlersDeps): PresenceHandlers {
  return {
    'presence:get': {
      payload: presenceGetPayloadSchema,
      async handle(socket, { chatId }, reply, requestId) {
        if (!socket.rooms.has(chatRoom(chatId))) throw AppError.notFound('No such chat');
        const members = await chatApi.memberIds(claimsOf(socket), chatId, requestId);
        const partners = blockPartners.of(socket.data.userId);
        const visible = partners.size > 0 ? members.filter((id) => !partners.has(id)) : members;
        reply({ ok: true, online: await store.online(visible) });
      },
    },
  };
}
