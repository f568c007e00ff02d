import { AppError, type Chat } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { chatWithMembers, refuseIfBlockedBy, requireChat, requireMembership } from './access';
import { withBudget } from './action-limiter';
import type { UseCaseDeps } from './deps';

/**
 * POST /api/chats/:chatId/members: the owner adds a user to a group. Adding a current member changes nothing
 * (200, no budget spent); a user who blocked the owner cannot be added (403 `blocked`).
 */
export async function addMember(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  userId: string,
): Promise<{ chat: Chat; added: boolean }> {
  const { repos, users, events, limits, now } = deps;
  const me = await requireMembership(repos, chatId, caller.userId);
  const chat = await requireChat(repos, chatId);
  if (chat.type === 'direct')
    throw AppError.forbidden('The members of a direct chat are fixed', 'direct_chat_fixed');
  if (me.role !== 'owner') throw AppError.forbidden('Only the chat owner can add members', 'not_owner');
  // Already a member: nothing to change, so neither the budget nor the block is consulted.
  if (await repos.memberships.find(chatId, userId))
    return { chat: await chatWithMembers(repos, chatId), added: false };
  const charge = { limiter: limits.memberAdditions, points: 1 };
  const added = await withBudget(
    [charge],
    caller.userId,
    async () => {
      await refuseIfBlockedBy(repos, caller.userId, [userId]);
      await users.assertUsersExist([userId], caller);
    },
    () =>
      repos.memberships.add(
        chatId,
        [{ userId, role: 'member' }],
        now(),
        new Date(chat.lastMessageAt ?? chat.createdAt),
      ),
  );
  // Lost a race with a concurrent addition of the same user: that one paid.
  if (added.length === 0) await charge.limiter.refund(caller.userId, charge.points);
  const full = await chatWithMembers(repos, chatId);
  if (added.length > 0) events.publish({ type: 'chat:added', chatId, userIds: added, chat: full });
  return { chat: full, added: added.length > 0 };
}
