import { AppError } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { requireChat, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/**
 * DELETE /api/chats/:chatId/members/:userId: the owner removes a member of a group, or any member leaves
 * (a direct chat too: opening it again brings the leaver back). When the owner leaves, the earliest-joined
 * remaining member becomes the owner.
 */
export async function removeMember(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  userId: string,
): Promise<void> {
  const { repos, events } = deps;
  const me = await requireMembership(repos, chatId, caller.userId);
  const chat = await requireChat(repos, chatId);
  const leaving = userId === caller.userId;
  if (!leaving) {
    if (chat.type === 'direct')
      throw AppError.forbidden('The members of a direct chat are fixed', 'direct_chat_fixed');
    if (me.role !== 'owner') throw AppError.forbidden('Only the chat owner can remove members', 'not_owner');
  }
  const removed = await repos.memberships.remove(chatId, userId);
  deps.recentMembers.forget(chatId, userId);
  if (!removed) throw AppError.notFound('Not a member of this chat', 'member_not_found');
  events.publish({ type: 'chat:removed', chatId, userIds: [userId] });
  if (chat.type === 'group' && chat.ownerId === userId) {
    const [heir] = await repos.memberships.listByChat(chatId);
    if (heir) {
      await repos.memberships.setRole(chatId, heir.userId, 'owner');
      await repos.chats.setOwner(chatId, heir.userId);
    }
  }
}
