import type { ChatPage, ChatSummary, ListChatsQuery } from '@cohort/common';
import type { Caller } from '../domain/caller';
import type { UseCaseDeps } from './deps';
import { decodeActivityCursor, encodeActivityCursor } from './page-cursor';

/** `mentionsUnread` counts up to this many (a client shows "99+"): each count is one capped index range. */
export const MENTIONS_UNREAD_CAP = 100;

/**
 * GET /api/chats: one page of the caller's chats, newest activity first, each with its last message and unread
 * count. Every query is bounded by the page size, never by how many chats the caller is in (docs/security.md): the
 * page comes from the caller's membership rows in activity order (membership.repository.ts pageByActivity),
 * then only that page's chats and last messages are read, by id.
 *
 * unread = lastSeq − my lastReadSeq; own messages do not count because sending moves the sender's read
 * marker up to the message sent (record-stored-messages.ts), which costs nothing here.
 *
 * mentionsUnread is counted, not kept: a per-membership counter would have to be corrected by every read (how
 * many mentions did the marker pass?), edit, delete and leave, each a count anyway and each a race. The count
 * is an index range of chat_mentions_seq (chat, me, seq > my marker; deleted messages have no mentions left),
 * capped at MENTIONS_UNREAD_CAP, and only for the page's chats with something unread at all: so it is right
 * after reads, edits, deletes and leaving by construction, and a page costs at most `limit` capped ranges.
 */
export async function listChats(
  { repos }: UseCaseDeps,
  caller: Caller,
  { limit, cursor }: ListChatsQuery,
): Promise<ChatPage> {
  const after = cursor === undefined ? undefined : decodeActivityCursor(cursor);
  const rows = await repos.memberships.pageByActivity(caller.userId, limit + 1, after);
  const page = rows.slice(0, limit);
  const chats = new Map((await repos.chats.findByIds(page.map((r) => r.chatId))).map((c) => [c.id, c]));
  const unreadRows = page.filter((r) => (chats.get(r.chatId)?.lastSeq ?? 0) > r.lastReadSeq);
  const [lastMessages, mentionCounts] = await Promise.all([
    repos.messages.findAt(
      [...chats.values()].filter((c) => c.lastSeq > 0).map((c) => ({ chatId: c.id, seq: c.lastSeq })),
    ),
    Promise.all(
      unreadRows.map(
        async (r) =>
          [
            r.chatId,
            await repos.messages.countMentions(r.chatId, caller.userId, r.lastReadSeq, MENTIONS_UNREAD_CAP),
          ] as const,
      ),
    ).then((counts) => new Map(counts)),
  ]);
  const summaries: ChatSummary[] = [];
  for (const row of page) {
    const chat = chats.get(row.chatId);
    if (!chat) continue;
    summaries.push({
      ...chat,
      lastMessage: lastMessages.get(chat.id) ?? null,
      unread: Math.max(0, chat.lastSeq - row.lastReadSeq),
      mentionsUnread: mentionCounts.get(chat.id) ?? 0,
    });
  }
  const last = page[page.length - 1];
  return {
    chats: summaries,
    nextCursor:
      rows.length > limit && last
        ? encodeActivityCursor({ at: last.lastActivityAt, chatId: last.chatId })
        : null,
  };
}
