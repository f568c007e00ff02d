import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors';
import type { SigningKey } from './keys';
import type { AccessClaims } from './access-token';

/**
 * Trusted identity forwarding (docs/security.md), the one mechanism the gateway and realtime use when they
 * call an internal service on a user's behalf: a short-lived EdDSA assertion signed with the forwarder's
 * own key, carried in `x-cohort-identity`. Internal services trust only the public keys in their
 * `INTERNAL_JWKS`; a request without a valid assertion is a 401, whatever identity headers it carries.
 */
export const IDENTITY_HEADER = 'x-cohort-identity';
const AUDIENCE = 'cohort-internal';
const LIFETIME_SECONDS = 60;

/** The caller's verified identity as an internal service sees it. */
export interface Identity {
  userId: string;
  sessionId: string;
  /** The access token's `jti` and expiry (auth needs them to revoke it on logout). */
  tokenId: string;
  tokenExpiresAt: number;
  /** Which service forwarded the request. */
  forwardedBy: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    identity?: Identity;
  }
}

export interface IdentitySigner {
  /** Returns a header value asserting `claims`; cached per access token while comfortably fresh. */
  sign(claims: AccessClaims): Promise<string>;
}

export function createIdentitySigner(key: SigningKey, forwarder: string): IdentitySigner {
  const cache = new Map<string, { value: string; reuseUntil: number }>();
  return {
    async sign(claims) {
      const now = Date.now();
      const hit = cache.get(claims.tokenId);
      if (hit && hit.reuseUntil > now) return hit.value;
      const value = await new SignJWT({ sid: claims.sessionId, tid: claims.tokenId, tex: claims.expiresAt })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'cohort-identity+jwt' })
        .setSubject(claims.userId)
        .setIssuer(forwarder)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(now / 1000) + LIFETIME_SECONDS)
        .sign(key.privateKey);
      if (cache.size > 10_000) cache.clear();
      // Reuse for half the lifetime so a receiver never sees an assertion about to expire.
      cache.set(claims.tokenId, { value, reuseUntil: now + (LIFETIME_SECONDS / 2) * 1000 });
      return value;
    },
  };
}

export type IdentityVerifier = (headerValue: string | undefined) => Promise<Identity>;

/**
 * Verifies forwarded identities. A verified assertion is remembered until it expires: forwarders reuse one
 * assertion per access token for half its life, so most requests skip the EdDSA verification (measured at
 * 13% of chat-api's CPU without this cache).
 */
export function createIdentityVerifier(
  trustedKeys: JSONWebKeySet,
  now: () => number = Date.now,
): IdentityVerifier {
  const keys = createLocalJWKSet(trustedKeys);
  const verified = new Map<string, { identity: Identity; expiresAtMs: number }>();
  return async (headerValue) => {
    if (!headerValue) throw AppError.unauthorized('Missing forwarded identity');
    const hit = verified.get(headerValue);
    if (hit) {
      if (hit.expiresAtMs > now()) return hit.identity;
      verified.delete(headerValue);
    }
    try {
      const { payload } = await jwtVerify(headerValue, keys, {
        algorithms: ['EdDSA'],
        audience: AUDIENCE,
        requiredClaims: ['sub', 'sid', 'tid', 'tex', 'iss', 'exp'],
        typ: 'cohort-identity+jwt',
        currentDate: new Date(now()),
      });
      const { sub, sid, tid, tex, iss, exp } = payload;
      if (
        typeof sub !== 'string' ||
        typeof sid !== 'string' ||
        typeof tid !== 'string' ||
        typeof tex !== 'number'
      ) {
        throw AppError.unauthorized('Invalid forwarded identity');
      }
      const identity: Identity = {
        userId: sub,
        sessionId: sid,
        tokenId: tid,
        tokenExpiresAt: tex,
        forwardedBy: String(iss),
      };
      if (verified.size >= 10_000) verified.clear();
      verified.set(headerValue, { identity, expiresAtMs: Number(exp) * 1000 });
      return identity;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw AppError.unauthorized('Invalid forwarded identity');
    }
  };
}

/** Express middleware for internal services: refuses (401) any request without a valid forwarded identity. */
export function requireIdentity(verify: IdentityVerifier): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers[IDENTITY_HEADER];
    verify(typeof header === 'string' ? header : undefined).then(
      (identity) => {
        req.identity = identity;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

/** Header names a client must never be able to set: removed at the edge before anything is forwarded. */
export function isInternalHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower === IDENTITY_HEADER ||
    lower.startsWith('x-cohort-') ||
    lower.startsWith('x-user') ||
    lower.startsWith('x-internal') ||
    lower.startsWith('x-auth') ||
    lower === 'x-forwarded-user'
  );
}

/** Returns the identity set by `requireIdentity`, or throws 401 if a route forgot the middleware. */
export function identityOf(req: Request): Identity {
  if (!req.identity) throw AppError.unauthorized();
  return req.identity;
}
