import type { Caller } from '../domain/caller';
import type { UseCaseDeps } from './deps';

/** DELETE /api/users/:userId/block: lifts the caller's block; unblocking someone not blocked changes nothing. */
export async function unblockUser({ repos }: UseCaseDeps, caller: Caller, userId: string): Promise<void> {
  await repos.blocks.unblock(caller.userId, userId);
}
