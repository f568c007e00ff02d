import { AppError } from '@cohort/common';
import { directChatId } from '../data/chat.repository';
import type { Caller } from '../domain/caller';
import type { UseCaseDeps } from './deps';

/**
 * PUT /api/users/:userId/block (docs/security.md): from now on `userId` cannot add the caller to a group, open a
 * direct chat with them or send into the one they share. Blocking again changes nothing. Chats they already
 * share stay (the caller can leave them).
 */
export async function blockUser(deps: UseCaseDeps, caller: Caller, userId: string): Promise<void> {
  const { repos, users, recentMembers, events, now } = deps;
  if (userId === caller.userId) throw AppError.badRequest('You cannot block yourself', 'invalid_block');
  await users.assertUsersExist([userId], caller);
  await repos.blocks.block(caller.userId, userId, now());
  // The send path trusts a recent membership check for a moment; the blocked user's next send re-checks.
  recentMembers.forget(directChatId(caller.userId, userId), userId);
  // Realtime stops relaying typing and presence between the two (both ways) on every replica holding either.
  events.publish({ type: 'users:block', userIds: [caller.userId, userId], blocked: true });
}
