import type { CookieOptions, Response } from 'express';
import { ACCESS_COOKIE, REFRESH_COOKIE } from '@cohort/common';
import type { SessionTokens } from '../use-cases/session-tokens';

/** Where the refresh cookie is sent: only to refresh and logout, never to the rest of the API. */
export const REFRESH_COOKIE_PATH = '/api/auth';

/**
 * The attributes each cookie is set with. Clearing uses exactly these (a browser only removes a cookie
 * whose Path/Secure/SameSite match), so both operations read them from here.
 */
export function sessionCookieOptions(secure: boolean): { access: CookieOptions; refresh: CookieOptions } {
  return {
    access: { httpOnly: true, sameSite: 'lax', secure, path: '/' },
    // Only our own pages ever call refresh, so it is never needed on a cross-site navigation.
    refresh: { httpOnly: true, sameSite: 'strict', secure, path: REFRESH_COOKIE_PATH },
  };
}

export function setSessionCookies(res: Response, secure: boolean, session: SessionTokens): void {
  const options = sessionCookieOptions(secure);
  const now = Date.now();
  // Whole seconds, rounded up: the token's `exp` is in seconds, so a fresh one lives the full TTL.
  const remaining = (until: number) => Math.max(0, Math.ceil((until - now) / 1000) * 1000);
  res.cookie(ACCESS_COOKIE, session.access.token, {
    ...options.access,
    maxAge: remaining(session.access.expiresAt * 1000),
  });
  res.cookie(REFRESH_COOKIE, session.refreshToken, {
    ...options.refresh,
    maxAge: remaining(session.refreshExpiresAt.getTime()),
  });
}

export function clearSessionCookies(res: Response, secure: boolean): void {
  const options = sessionCookieOptions(secure);
  res.clearCookie(ACCESS_COOKIE, options.access);
  res.clearCookie(REFRESH_COOKIE, options.refresh);
}
