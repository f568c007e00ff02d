import type { Caller } from '../domain/caller';
import type { UseCaseDeps } from './deps';

/** DELETE /api/users/:userId/block: lifts the caller's block; unblocking someone not blocked changes nothing. */
export async function unblockUser({ repos, events }: UseCaseDeps, caller: Caller, userId: string): Promise<void> {
  const removed = await repos.blocks.unblock(caller.userId, userId);
  // Realtime relays typing and presence between the two again, unless the other still blocks the caller.
  if (removed) events.publish({ type: 'users:block', userIds: [caller.userId, userId], blocked: false });
}
