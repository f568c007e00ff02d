import type { ListMessagesQuery, Message } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/** GET /api/chats/:chatId/messages: a page ascending by seq (newest `limit`, or just below `before` / above `after`). */
export async function listMessages(
  { repos }: UseCaseDeps,
  caller: Caller,
  chatId: string,
  query: ListMessagesQuery,
): Promise<Message[]> {
  await requireMembership(repos, chatId, caller.userId);
  return repos.messages.list(chatId, query);
}
