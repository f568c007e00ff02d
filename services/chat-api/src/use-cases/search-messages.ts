import type { SearchMessagesQuery, SearchResult } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/**
 * The most chats one search covers: the caller's most recently active ones. Every store query is bounded
 * (docs/security.md), so a member of 50,000 chats cannot make a search scan all of them.
 */
export const SEARCH_CHATS_MAX = 1000;

/**
 * GET /api/search/messages: a `$text` query over the messages of the caller's chats, best matches first. The
 * scope is part of the query itself (`chatId: {$in: mine}` beside `$text`, and `deletedAt: null`), never a filter
 * applied to results afterwards, so another chat's message cannot be returned even for a moment. `chatId` narrows
 * it to one chat, which must be the caller's (404 otherwise, as everywhere). Charged to the search budget.
 */
export async function searchMessages(
  deps: UseCaseDeps,
  caller: Caller,
  query: SearchMessagesQuery,
): Promise<SearchResult[]> {
  const { repos, limits } = deps;
  await limits.searches.consume(caller.userId);
  let chatIds: string[];
  if (query.chatId) {
    await requireMembership(repos, query.chatId, caller.userId);
    chatIds = [query.chatId];
  } else {
    const mine = await repos.memberships.pageByActivity(caller.userId, SEARCH_CHATS_MAX);
    chatIds = mine.map((m) => m.chatId);
  }
  if (chatIds.length === 0) return [];
  const found = await repos.messages.searchText(chatIds, query.q, query.limit);
  return found.map(({ message, score }) => ({ message, chatId: message.chatId, score }));
}
