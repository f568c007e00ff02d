import type { ForwardedCaller, FullName } from '@cohort/common';
import type { AuthContext } from './deps';

/** A user as someone else sees them: the email only where the viewer may know it (docs/http-api.md). */
export interface UserCard {
  id: string;
  fullName: FullName;
  email?: string;
}

export interface UserSearchInput {
  query: string;
  limit: number;
  callerId: string;
  caller: ForwardedCaller & { assertion: string };
}

/**
 * Prefix search on email, first and last name (case-insensitive), leaving the caller out. Emails are shown
 * only of users who share a chat with the caller, or when the query is exactly that email (the searcher knows
 * it already): search is not a directory of everyone's address.
 */
export async function searchUsers(ctx: AuthContext, input: UserSearchInput): Promise<UserCard[]> {
  const found = await ctx.users.search({
    query: input.query,
    limit: input.limit,
    excludeUserId: input.callerId,
  });
  const exact = input.query.trim().toLowerCase();
  const needAsking = found.filter((u) => u.email !== exact).map((u) => u.id);
  const shared = await ctx.sharedChats.amongUsers(needAsking, input.caller);
  return found.map(({ id, fullName, email }) =>
    email === exact || shared.has(id) ? { id, fullName, email } : { id, fullName },
  );
}
