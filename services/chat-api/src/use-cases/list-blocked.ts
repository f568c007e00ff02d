import type { BlockedUser, ListBlockedQuery } from '@cohort/common';
import type { Caller } from '../domain/caller';
import type { UseCaseDeps } from './deps';
import { decodeIdCursor } from './page-cursor';

/** GET /api/users/blocked: a page of the users the caller blocked, by id; `nextCursor` resumes after the last. */
export async function listBlocked(
  { repos }: UseCaseDeps,
  caller: Caller,
  { limit, cursor }: ListBlockedQuery,
): Promise<{ users: BlockedUser[]; nextCursor: string | null }> {
  const afterId = cursor === undefined ? undefined : decodeIdCursor(cursor);
  const rows = await repos.blocks.listBlocked(caller.userId, limit + 1, afterId);
  const users = rows.slice(0, limit);
  return { users, nextCursor: rows.length > limit ? (users[users.length - 1]?.id ?? null) : null };
}
