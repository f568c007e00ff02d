import type { ChatEvent, EventBus, Unsubscribe } from '@cohort/common';
import { directChatId } from '../data/chat.repository';
import type { MembershipCache } from '../domain/membership-cache';

/**
 * Keeps the send path's membership cache in step with removals and blocks made through any chat-api replica:
 * `chat:removed` forgets the removed members, a block forgets both users' entries for their direct chat. This
 * replica's own events come back too and forget what is already forgotten.
 */
export function forgetOnMembershipEvents(bus: EventBus, cache: MembershipCache): Promise<Unsubscribe> {
  return bus.subscribe('chat-events', (event: ChatEvent) => {
    if (event.type === 'chat:removed' && Array.isArray(event.userIds)) {
      for (const userId of event.userIds) cache.forget(event.chatId, userId);
    } else if (event.type === 'users:block' && event.blocked && Array.isArray(event.userIds)) {
      const [a, b] = event.userIds;
      if (typeof a !== 'string' || typeof b !== 'string') return;
      const chatId = directChatId(a, b);
      cache.forget(chatId, a);
      cache.forget(chatId, b);
    }
  });
}
