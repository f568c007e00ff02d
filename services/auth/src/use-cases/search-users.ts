import type { AuthContext } from './deps';
import type { UserSummary } from '../data/user.repository';

/** Prefix search on email, first and last name (case-insensitive), leaving the caller out. */
export function searchUsers(
  ctx: AuthContext,
  input: { query: string; limit: number; callerId: string },
): Promise<UserSummary[]> {
  return ctx.users.search({ query: input.query, limit: input.limit, excludeUserId: input.callerId });
}
