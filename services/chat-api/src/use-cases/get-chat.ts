import type { Chat } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { chatWithMembers, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/** GET /api/chats/:chatId: the chat with its members, for members only. */
export async function getChat({ repos }: UseCaseDeps, caller: Caller, chatId: string): Promise<Chat> {
  await requireMembership(repos, chatId, caller.userId);
  return chatWithMembers(repos, chatId);
}
