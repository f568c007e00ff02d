import { AppError, type PublicUser } from '@cohort/common';
import type { AuthContext } from './deps';

/** The signed-in user; a session whose user no longer exists is treated as no session. */
export async function getMe(ctx: AuthContext, userId: string): Promise<PublicUser> {
  const user = await ctx.users.findById(userId);
  if (!user) throw AppError.unauthorized('Invalid or expired session');
  return user;
}
