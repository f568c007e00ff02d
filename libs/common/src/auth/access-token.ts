import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError } from '../errors';
import type { TokenDenylist } from './denylist';

export const ACCESS_TOKEN_ISSUER = 'cohort-auth';
export const ACCESS_TOKEN_AUDIENCE = 'cohort';
export const ACCESS_TOKEN_ALGORITHM = 'ES256';
/**
 * No leeway on expiry: a token past `exp` is refused everywhere, so realtime never accepts a handshake it
 * would disconnect at once on its expiry timer (a client would loop). Clients refresh before expiry.
 */
export const ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS = 0;

/** Verified claims of an access JWT. */
export interface AccessClaims {
  userId: string;
  sessionId: string;
  tokenId: string;
  issuedAt: number;
  expiresAt: number;
}

export interface AccessTokenVerifierOptions {
  /** Auth's JWKS endpoint (fetched, cached, refetched on an unknown `kid`) or the keys themselves. */
  jwks: URL | JSONWebKeySet;
  denylist?: TokenDenylist;
  issuer?: string;
  audience?: string;
}

export type AccessTokenVerifier = (token: string) => Promise<AccessClaims>;

/**
 * Verifies access JWTs: ES256 only (no `none`, no HMAC confusion), issuer, audience, expiry, required
 * claims, and the denylist. `jku`/`x5u`/`jwk` headers are never followed: keys come only from `jwks`.
 * Every failure is the same 401 `unauthorized`.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const keys: JWTVerifyGetKey =
    options.jwks instanceof URL
      ? createRemoteJWKSet(options.jwks, {
          cacheMaxAge: 10 * 60_000,
          cooldownDuration: 5_000,
          timeoutDuration: 5_000,
        })
      : createLocalJWKSet(options.jwks);
  const issuer = options.issuer ?? ACCESS_TOKEN_ISSUER;
  const audience = options.audience ?? ACCESS_TOKEN_AUDIENCE;

  return async (token) => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer,
        audience,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
        clockTolerance: ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (err) {
      if (err instanceof errors.JOSEError || err instanceof TypeError) {
        throw AppError.unauthorized('Invalid or expired session');
      }
      throw err;
    }
    const { sub, sid, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || !iat || !exp) {
      throw AppError.unauthorized('Invalid or expired session');
    }
    if (options.denylist && (await options.denylist.isRevoked(jti, sid))) {
      throw AppError.unauthorized('Session revoked');
    }
    return { userId: sub, sessionId: sid, tokenId: jti, issuedAt: iat, expiresAt: exp };
  };
}

/** The access token of a request: `Authorization: Bearer …` first, then the `token` cookie. */
export function extractAccessToken(headers: {
  authorization?: string | undefined;
  cookie?: string | undefined;
}): { token: string; via: 'bearer' | 'cookie' } | null {
  const auth = headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) {
    const token = auth.replace(/^Bearer\s+/i, '').trim();
    if (token) return { token, via: 'bearer' };
  }
  const token = readCookie(headers.cookie, ACCESS_COOKIE);
  return token ? { token, via: 'cookie' } : null;
}

export const ACCESS_COOKIE = 'token';
export const REFRESH_COOKIE = 'refresh_token';

/** Reads one cookie from a Cookie header without decoding surprises. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}
