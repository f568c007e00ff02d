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
 * helmet for the gateway's responses: a CSP for the Vite React SPA served from this origin (own scripts
 * only, inline styles for React style attributes, images from self and data:, API and websocket to this
 * origin), which also fits Swagger UI at /api/docs; nosniff, Referrer-Policy, frame-ancestors 'none';
 * HSTS and upgrade-insecure-requests only in production (the embedded mode runs on http://localhost).
 */
export function securityHeaders(production: boolean): RequestHandler {
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
        ...(production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    strictTransportSecurity: production ? { maxAge: 15552000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
  });
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
