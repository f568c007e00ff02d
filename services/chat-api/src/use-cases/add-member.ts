import { AppError, type Chat } from '@cohort/common';
import type { Caller } from '../lib/caller';
import { chatWithMembers, requireChat, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/** POST /api/chats/:chatId/members: the owner adds a user to a group. Adding a current member changes nothing (200). */
export async function addMember(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  userId: string,
): Promise<{ chat: Chat; added: boolean }> {
  const { repos, users, events, now } = deps;
  const me = await requireMembership(repos, chatId, caller.userId);
  const chat = await requireChat(repos, chatId);
  if (chat.type === 'direct')
    throw AppError.forbidden('The members of a direct chat are fixed', 'direct_chat_fixed');
  if (me.role !== 'owner') throw AppError.forbidden('Only the chat owner can add members', 'not_owner');
  await users.assertUsersExist([userId], caller);
  const added = await repos.memberships.add(chatId, [{ userId, role: 'member' }], now());
  const full = await chatWithMembers(repos, chatId);
  if (added.length > 0) events.publish({ type: 'chat:added', chatId, userIds: added, chat: full });
  return { chat: full, added: added.length > 0 };
}
