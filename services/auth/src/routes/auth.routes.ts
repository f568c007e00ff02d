import { Router, type Request, type RequestHandler } from 'express';
import {
  AppError,
  REFRESH_COOKIE,
  identityOf,
  loginBodySchema,
  parseOrThrow,
  readCookie,
  registerBodySchema,
} from '@cohort/common';
import type { AuthContext } from '../use-cases/deps';
import { register } from '../use-cases/register';
import { login } from '../use-cases/login';
import { refresh } from '../use-cases/refresh';
import { logout } from '../use-cases/logout';
import { getMe } from '../use-cases/get-me';
import { clearSessionCookies, setSessionCookies } from './cookies';

export interface AuthRoutesOptions {
  ctx: AuthContext;
  /** Cookies are `Secure` in production. */
  secureCookies: boolean;
  /** Refuses requests that do not carry a valid forwarded identity (and revoked sessions). */
  requireSession: RequestHandler;
  /** Verifies a forwarded identity when there is one (401 if it is invalid), and lets requests without one by. */
  optionalSession: RequestHandler;
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * `/api/auth/*`: register, login, refresh and JWKS are public; me needs a session; logout works from a
 * session or from the refresh cookie alone (an expired access token must not prevent logging out).
 */
export function createAuthRouter({
  ctx,
  secureCookies,
  requireSession,
  optionalSession,
}: AuthRoutesOptions): Router {
  const router = Router();

  router.post('/register', async (req, res) => {
    await ctx.limiter.consumeIp(clientIp(req));
    const body = parseOrThrow(registerBodySchema, req.body);
    const { user, session } = await register(ctx, body, clientIp(req));
    setSessionCookies(res, secureCookies, session);
    res.status(201).json({ user });
  });

  router.post('/login', async (req, res) => {
    const ip = clientIp(req);
    await ctx.limiter.consumeIp(ip);
    const body = parseOrThrow(loginBodySchema, req.body);
    const { user, session } = await login(ctx, body, ip);
    setSessionCookies(res, secureCookies, session);
    res.json({ user });
  });

  router.post('/refresh', async (req, res) => {
    try {
      const { user, session } = await refresh(ctx, readCookie(req.headers.cookie, REFRESH_COOKIE));
      setSessionCookies(res, secureCookies, session);
      res.json({ user });
    } catch (err) {
      // A dead refresh token is dropped from the browser so it stops presenting it.
      if (err instanceof AppError && err.status === 401) clearSessionCookies(res, secureCookies);
      throw err;
    }
  });

  router.post('/logout', optionalSession, async (req, res) => {
    const refreshToken = readCookie(req.headers.cookie, REFRESH_COOKIE);
    await logout(ctx, {
      ...(req.identity ? { identity: req.identity } : {}),
      ...(refreshToken ? { refreshToken } : {}),
    });
    clearSessionCookies(res, secureCookies);
    res.status(204).end();
  });

  router.get('/me', requireSession, async (req, res) => {
    res.json({ user: await getMe(ctx, identityOf(req).userId) });
  });

  router.get('/jwks.json', (_req, res) => {
    // Verifiers cache it and refetch on an unknown `kid`, so a key rotation still propagates at once.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(ctx.tokens.jwks());
  });

  return router;
}
