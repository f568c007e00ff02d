import type { AuthContext } from './deps';
import type { UserSummary } from '../data/user.repository';

/** The users among `ids` that exist, in the order asked (unknown ids are left out). */
export function lookupUsers(ctx: AuthContext, ids: readonly string[]): Promise<UserSummary[]> {
  return ctx.users.findByIds(ids);
}
