import { AppError } from '../errors';
import {
  ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
  type AccessClaims,
  type AccessTokenVerifier,
} from './access-token';
import type { TokenDenylist } from './denylist';

export interface CachedVerifierOptions {
  /** Verifies signature, algorithm, issuer, audience, expiry and claims (without the denylist). */
  verify: AccessTokenVerifier;
  denylist: TokenDenylist;
  /** How long a verified token is trusted without re-checking its signature (bounds key-removal lag). */
  maxAgeMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * Remembers tokens whose signature was verified, keyed by the exact token string, so a client's every request
 * does not pay an ES256 verification (~0.2 ms of CPU). Expiry and the denylist (`jti`, `sid`) are still checked
 * on every request; a signature is re-verified at least every `maxAgeMs`, so a key withdrawn from the JWKS stops
 * being honoured within that bound.
 */
export function createCachedVerifier(options: CachedVerifierOptions): AccessTokenVerifier {
  const { verify, denylist, maxAgeMs = 60_000, maxEntries = 10_000, now = Date.now } = options;
  const cache = new Map<string, { claims: AccessClaims; verifiedAt: number }>();

  return async (token) => {
    const t = now();
    const hit = cache.get(token);
    let claims: AccessClaims;
    if (hit && t - hit.verifiedAt < maxAgeMs) {
      if (hit.claims.expiresAt + ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS <= t / 1000) {
        cache.delete(token);
        throw AppError.unauthorized('Invalid or expired session');
      }
      claims = hit.claims;
    } else {
      cache.delete(token);
      claims = await verify(token);
      if (cache.size >= maxEntries) {
        // Maps iterate in insertion order: drop the oldest entry.
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(token, { claims, verifiedAt: t });
    }
    if (await denylist.isRevoked(claims.tokenId, claims.sessionId))
      throw AppError.unauthorized('Session revoked');
    return claims;
  };
}
