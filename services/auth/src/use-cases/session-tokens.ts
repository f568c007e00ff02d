import type { AuthContext } from './deps';
import type { IssuedAccessToken } from '../tokens/access-token-issuer';
import { generateRefreshToken, hashRefreshToken } from '../tokens/refresh-token';
import type { RevokeReason } from '../data/session.schema';

/** What the session cookies carry. */
export interface SessionTokens {
  sessionId: string;
  access: IssuedAccessToken;
  refreshToken: string;
  /** End of the session: the refresh cookie lives until then. */
  refreshExpiresAt: Date;
}

/** Opens a session for a user who just proved who they are: a stored refresh hash and a first access token. */
export async function startSession(ctx: AuthContext, userId: string): Promise<SessionTokens> {
  const refreshToken = generateRefreshToken();
  const now = new Date();
  const refreshExpiresAt = new Date(now.getTime() + ctx.refreshTtlSeconds * 1000);
  const { sessionId } = await ctx.sessions.create({
    userId,
    refreshHash: hashRefreshToken(refreshToken),
    now,
    expiresAt: refreshExpiresAt,
  });
  const access = await ctx.tokens.issue({ userId, sessionId });
  return { sessionId, access, refreshToken, refreshExpiresAt };
}

export interface Revocation {
  sessionId: string;
  userId: string;
  reason: RevokeReason;
  /** The access token presented with a logout, refused until it would expire anyway. */
  token?: { tokenId: string; expiresAt: number };
}

/**
 * Ends a session everywhere: marked revoked in the database (no more refreshes), its id and the given
 * token on the denylist (every verifier refuses its access tokens from now on), and `session:revoked`
 * published so realtime replicas disconnect its sockets.
 */
export async function revokeSession(
  ctx: AuthContext,
  { sessionId, userId, reason, token }: Revocation,
): Promise<void> {
  await ctx.sessions.revoke({ sessionId, userId, reason, now: new Date() });
  // No access token of this session outlives one TTL from now: that is how long its id stays denied.
  const sessionDeniedUntil = Math.floor(Date.now() / 1000) + ctx.tokens.ttlSeconds;
  await Promise.all([
    ctx.denylist.revoke(sessionId, sessionDeniedUntil),
    token ? ctx.denylist.revoke(token.tokenId, token.expiresAt) : Promise.resolve(),
  ]);
  try {
    await ctx.bus.publish('session-events', { type: 'session:revoked', sessionId, userId });
  } catch (err) {
    // The denylist already refuses the session; only the live-socket disconnect is delayed.
    ctx.logger.error({ err, sessionId }, 'could not publish session:revoked');
  }
}
