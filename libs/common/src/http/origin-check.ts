import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { AppError } from '../errors';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a request's Origin is acceptable: absent, listed in `allowed`, or the product's own origin
 * (the scheme and Host the request was addressed to, as the edge forwards them).
 */
export function isAllowedOrigin(
  headers: IncomingHttpHeaders,
  allowed: readonly string[],
  encrypted = false,
): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const host = firstValue(headers['x-forwarded-host']) ?? headers.host;
  if (!host) return false;
  const proto = firstValue(headers['x-forwarded-proto']) ?? (encrypted ? 'https' : 'http');
  return origin === `${proto}://${host}`;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/**
 * CSRF defence for cookie-authenticated unsafe methods (docs/security.md): a present Origin that is not
 * allowed gets 403 `csrf`. Bearer-token requests are not cookie-driven and pass.
 */
export function originCheck(allowedOrigins: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    if (!UNSAFE.has(req.method)) return next();
    if (req.headers.authorization && !req.headers.cookie) return next();
    if (isAllowedOrigin(req.headers, allowedOrigins, req.secure)) return next();
    next(new AppError(403, 'csrf', 'Cross-site request refused'));
  };
}
