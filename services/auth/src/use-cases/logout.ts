import type { Identity } from '@cohort/common';
import type { AuthContext } from './deps';
import { revokeSession } from './session-tokens';

/** Ends the caller's session; the access token they presented is refused everywhere from now on. */
export async function logout(ctx: AuthContext, identity: Identity): Promise<void> {
  await revokeSession(ctx, {
    sessionId: identity.sessionId,
    userId: identity.userId,
    reason: 'logout',
    token: { tokenId: identity.tokenId, expiresAt: identity.tokenExpiresAt },
  });
}
