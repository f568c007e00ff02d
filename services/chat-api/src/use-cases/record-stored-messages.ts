import { createBatcher, type Message } from '@cohort/common';
import type { Repositories } from './deps';

/** The sequencer's `afterStored`: resolves once what `stored` (one chat, ascending seqs) implies is written. */
export type StoredMessagesRecorder = (chatId: string, stored: readonly Message[]) => Promise<void>;

/**
 * Raises each chat's lastSeq and lastMessageAt and its members' copy of that activity, and moves each sender's
 * read marker to their own latest message (a sender's own messages never count as unread for them). The batches
 * stored by all chats' lanes at about the same time are recorded together: one chats write and one memberships
 * write (activity and read markers), whatever the number of chats and senders (both only ever move values
 * forward, so overlapping writes converge).
 */
export function createStoredMessagesRecorder(repos: Repositories): StoredMessagesRecorder {
  const batcher = createBatcher<{ chatId: string; stored: readonly Message[] }, void>({
    maxInFlight: 2,
    maxItems: 500,
    maxWeight: Number.POSITIVE_INFINITY,
    weigh: () => 1,
    run: async (items) => {
      const latestByChat = new Map<string, Message>();
      const markers = new Map<string, { chatId: string; userId: string; seq: number }>();
      for (const { chatId, stored } of items) {
        for (const message of stored) {
          const latest = latestByChat.get(chatId);
          if (!latest || message.seq > latest.seq) latestByChat.set(chatId, message);
          const key = `${chatId}:${message.senderId}`;
          const marker = markers.get(key);
          if (!marker || message.seq > marker.seq) {
            markers.set(key, { chatId, userId: message.senderId, seq: message.seq });
          }
        }
      }
      const latest = [...latestByChat].map(([chatId, m]) => ({
        chatId,
        seq: m.seq,
        at: new Date(m.createdAt),
      }));
      await Promise.all([
        repos.chats.recordMessages(latest),
        // Each member's copy of the chat's activity, which orders their chat list (membership.schema.ts), and
        // the senders' read markers: one command.
        repos.memberships.recordStoredMessages(latest, [...markers.values()]),
      ]);
      return items.map(() => ({ ok: true, value: undefined }));
    },
  });
  return (chatId, stored) => (stored.length === 0 ? Promise.resolve() : batcher.submit({ chatId, stored }));
}
