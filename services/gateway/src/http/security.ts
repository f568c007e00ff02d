import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';

const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * `connect-src` for the Socket.IO connection: `'self'` covers same-origin ws(s) in CSP Level 3 browsers;
 * the explicit `ws(s)://<host>` serves older ones. The Host is echoed only when it is a plain host[:port].
 */
function sameOriginSockets(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-host'];
  const host =
    (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() ?? req.headers.host;
  if (!host || !SAFE_HOST.test(host)) return '';
  return `ws://${host} wss://${host}`;
}

/**
 * Whether the edge reports that the browser reached it over plain http (`X-Forwarded-Proto`): the local
 * cluster, or a plain-http trial of the compose file. Without the header a production gateway assumes TLS.
 */
function overPlainHttp(req: IncomingMessage): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return proto !== undefined && proto !== '' && proto !== 'https';
}

function helmetFor(https: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", (req: IncomingMessage, _res: ServerResponse) => sameOriginSockets(req)],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        manifestSrc: ["'self'"],
        workerSrc: ["'self'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    strictTransportSecurity: https ? { maxAge: 15552000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
  });
}

/**
 * helmet for the gateway's responses: a CSP for the Vite React SPA served from this origin (own scripts
 * only, inline styles for React style attributes, images from self and data:, API and websocket to this
 * origin), which also fits Swagger UI at /api/docs; nosniff, Referrer-Policy, frame-ancestors 'none'.
 * HSTS and upgrade-insecure-requests only in production and only when served over https: the embedded mode
 * runs on http://localhost, and on a page served over plain http (the local cluster opened by IP from
 * another host) upgrade-insecure-requests would send every request to an https port that does not exist.
 */
export function securityHeaders(production: boolean): RequestHandler {
  const plain = helmetFor(false);
  if (!production) return plain;
  const secure = helmetFor(true);
  return (req, res, next) => (overPlainHttp(req) ? plain : secure)(req, res, next);
}

/**
 * CORS for other origins that are explicitly allowed (ALLOWED_ORIGINS), with credentials. The product's
 * own origin needs no CORS. Anything else gets no CORS headers, so browsers refuse to expose responses.
 */
export function corsPolicy(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
}
