import type { ChatSummary } from '@cohort/common';
import type { Caller } from '../lib/caller';
import type { UseCaseDeps } from './deps';

/**
 * GET /api/chats: the caller's chats, newest activity first, each with its last message and unread count.
 * unread = lastSeq − my lastReadSeq; own messages do not count because sending moves the sender's read
 * marker up to the message sent (send-message.ts), which costs one indexed update per send instead of a
 * count query per chat here.
 */
export async function listChats({ repos }: UseCaseDeps, caller: Caller): Promise<ChatSummary[]> {
  const mine = await repos.memberships.listByUser(caller.userId);
  const readUpTo = new Map(mine.map((m) => [m.chatId, m.lastReadSeq]));
  // _id $in: an index scan over the caller's chats; ordering those few by activity happens here.
  const chats = await repos.chats.findByIds(mine.map((m) => m.chatId));
  const lastMessages = await repos.messages.findAt(
    chats.filter((c) => c.lastSeq > 0).map((c) => ({ chatId: c.id, seq: c.lastSeq })),
  );
  const activity = (c: { lastMessageAt: string | null; createdAt: string }) => c.lastMessageAt ?? c.createdAt;
  return chats
    .map((chat) => ({
      ...chat,
      lastMessage: lastMessages.get(chat.id) ?? null,
      unread: Math.max(0, chat.lastSeq - (readUpTo.get(chat.id) ?? 0)),
    }))
    .sort((a, b) => activity(b).localeCompare(activity(a)) || b.id.localeCompare(a.id));
}
