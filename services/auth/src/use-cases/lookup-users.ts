import type { AuthContext } from './deps';
import type { UserCard } from './search-users';

/**
 * The users among `ids` that exist, in the order asked (unknown ids are left out): names for member lists,
 * and the email only of the caller themselves (anyone's id would otherwise reveal anyone's address).
 */
export async function lookupUsers(
  ctx: AuthContext,
  ids: readonly string[],
  callerId: string,
): Promise<UserCard[]> {
  const found = await ctx.users.findByIds(ids);
  return found.map(({ id, fullName, email }) =>
    id === callerId ? { id, fullName, email } : { id, fullName },
  );
}
