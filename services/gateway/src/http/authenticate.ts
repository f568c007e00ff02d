import type { RequestHandler } from 'express';
import {
  AppError,
  extractAccessToken,
  IDENTITY_HEADER,
  type AccessClaims,
  type AccessTokenVerifier,
  type IdentitySigner,
} from '@cohort/common';

export type RouteAccess = 'public' | 'optional' | 'session';

/**
 * Who may call what without a session. Matching is exact (method and path as received): anything not
 * listed here needs a valid access token, so an unusual spelling of a public path only gets stricter.
 * Logout is `optional`: with a valid token the identity is forwarded (auth revokes that token); without
 * one the request still reaches auth, which revokes by the refresh cookie and clears the cookies, so an
 * expired session can always log out.
 */
const ROUTES: Record<string, RouteAccess> = {
  'POST /api/auth/register': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/refresh': 'public',
  'GET /api/auth/jwks.json': 'public',
  'HEAD /api/auth/jwks.json': 'public',
  'POST /api/auth/logout': 'optional',
};

export function accessFor(method: string, path: string): RouteAccess {
  return ROUTES[`${method} ${path}`] ?? 'session';
}

declare module 'express-serve-static-core' {
  interface Locals {
    claims?: AccessClaims;
  }
}

/**
 * Verifies the access token (Bearer first, then the `token` cookie) and replaces it with the forwarded
 * identity: an assertion signed by the gateway in `x-cohort-identity`, the only identity upstreams trust.
 * Client-sent identity headers were removed before this runs.
 */
export function authenticate(verify: AccessTokenVerifier, signer: IdentitySigner): RequestHandler {
  return async (req, res, next) => {
    const access = accessFor(req.method, req.path);
    if (access === 'public') return next();
    const found = extractAccessToken({
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
    });
    if (!found) {
      if (access === 'optional') return next();
      throw AppError.unauthorized('Authentication required');
    }
    let claims: AccessClaims;
    try {
      claims = await verify(found.token);
    } catch (err) {
      if (err instanceof AppError) {
        if (access === 'optional' && err.status === 401) return next();
        throw err;
      }
      // The keys (auth's JWKS) or the denylist could not be reached: fail closed, but say so honestly.
      req.log.error({ err }, 'cannot verify access token');
      throw new AppError(503, 'auth_unavailable', 'Sessions cannot be verified right now');
    }
    res.locals.claims = claims;
    req.headers[IDENTITY_HEADER] = await signer.sign(claims);
    next();
  };
}
