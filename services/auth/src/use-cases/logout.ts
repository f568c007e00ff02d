import type { Identity } from '@cohort/common';
import type { AuthContext } from './deps';
import { revokeSession } from './session-tokens';
import { hashRefreshToken, isWellFormedRefreshToken } from '../tokens/refresh-token';

export interface LogoutInput {
  /** The forwarded identity, when the request carried a valid access token. */
  identity?: Identity;
  /** The refresh cookie, when the browser sent one. */
  refreshToken?: string;
}

/**
 * Ends the caller's session: the one the access token belongs to (that token is refused everywhere from
 * now on) and the one the refresh cookie continues. The gateway forwards a logout without an identity
 * when the access token has expired, so the refresh cookie alone is enough to log out; with neither there
 * is nothing to revoke and the caller only gets its cookies cleared.
 */
export async function logout(ctx: AuthContext, { identity, refreshToken }: LogoutInput): Promise<void> {
  if (identity) {
    await revokeSession(ctx, {
      sessionId: identity.sessionId,
      userId: identity.userId,
      reason: 'logout',
      token: { tokenId: identity.tokenId, expiresAt: identity.tokenExpiresAt },
    });
  }
  if (refreshToken && isWellFormedRefreshToken(refreshToken)) {
    const session = await ctx.sessions.findLiveByRefreshHash(hashRefreshToken(refreshToken), new Date());
    if (session && session.sessionId !== identity?.sessionId) {
      await revokeSession(ctx, { ...session, reason: 'logout' });
    }
  }
}
