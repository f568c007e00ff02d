import type { Caller } from '../domain/caller';
import type { UseCaseDeps } from './deps';

/** DELETE /api/users/:userId/block: lifts the caller's block; unblocking someone not blocked changes nothing. */
export async function unblockUser(
  { repos, events }: UseCaseDeps,
  caller: Caller,
  userId: string,
): Promise<void> {
  if (!(await repos.blocks.unblock(caller.userId, userId))) return;
  // Typing and presence flow between the two again only if `userId` does not block the caller in turn.
  const stillBlocked = (await repos.blocks.whoBlocked(caller.userId, [userId])).length > 0;
  if (!stillBlocked)
    events.publish({ type: 'users:block', userIds: [caller.userId, userId], blocked: false });
}
