import { AppError, type PublicUser } from '@cohort/common';
import type { AuthContext } from './deps';
import { revokeSession, type SessionTokens } from './session-tokens';
import { generateRefreshToken, hashRefreshToken, isWellFormedRefreshToken } from '../tokens/refresh-token';

export interface Refreshed {
  user: PublicUser;
  session: SessionTokens;
}

const invalid = () => AppError.unauthorized('Invalid or expired session', 'invalid_refresh_token');

/**
 * Rotates a refresh token: the presented one stops working and a new pair is issued. Presenting a token
 * that was already rotated away means two parties hold it (one of them a thief): the whole session is
 * revoked. The only exception is the token rotated away moments ago, which is what a second tab
 * refreshing at the same time presents: that is a plain 401.
 */
export async function refresh(ctx: AuthContext, presented: string | undefined): Promise<Refreshed> {
  if (!presented || !isWellFormedRefreshToken(presented)) throw invalid();
  const presentedHash = hashRefreshToken(presented);
  const refreshToken = generateRefreshToken();
  const now = new Date();
  const rotated = await ctx.sessions.rotate({ presentedHash, nextHash: hashRefreshToken(refreshToken), now });

  if (!rotated) {
    const owner = await ctx.sessions.findByPreviousHash(presentedHash);
    if (owner && !owner.revoked) {
      const graceEnds = (owner.rotatedAt?.getTime() ?? 0) + ctx.refreshReuseGraceSeconds * 1000;
      const concurrentRefresh = owner.wasLastRotated && now.getTime() < graceEnds;
      if (!concurrentRefresh) {
        ctx.logger.warn(
          { sessionId: owner.sessionId, userId: owner.userId },
          'refresh token reuse: session revoked',
        );
        await revokeSession(ctx, {
          sessionId: owner.sessionId,
          userId: owner.userId,
          reason: 'refresh_reuse',
        });
      }
    }
    throw invalid();
  }

  const user = await ctx.users.findById(rotated.userId);
  if (!user) throw invalid();
  const access = await ctx.tokens.issue({ userId: rotated.userId, sessionId: rotated.sessionId });
  return {
    user,
    session: { sessionId: rotated.sessionId, access, refreshToken, refreshExpiresAt: rotated.expiresAt },
  };
}
