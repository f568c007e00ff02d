import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import express, { Router, type Express, type RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import {
  AppError,
  createHttpLogger,
  createMetrics,
  createOpsRouter,
  errorHandler,
  isAllowedOrigin,
  notFoundHandler,
  originCheck,
  trustOneLocalHop,
  type AccessTokenVerifier,
  type IdentitySigner,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@cohort/common';
import type { GatewayConfig } from './config';
import { buildAsyncApiDocument } from './docs/asyncapi';
import { buildOpenApiDocument } from './docs/openapi';
import { authenticate } from './http/authenticate';
import { ensureRequestId, prepareForwardedHeaders, stripInternalHeaders } from './http/forwarding';
import { corsPolicy, securityHeaders } from './http/security';
import { webClient } from './http/web-client';
import { createUpstreamMetrics, createUpstreamProxy, type UpstreamProxy } from './proxy/upstream-proxy';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  verifyAccessToken: AccessTokenVerifier;
  identitySigner: IdentitySigner;
  metrics?: ServiceMetrics;
  /** Extra `/readyz` checks (the Redis denylist); the upstreams' `/healthz` are always checked. */
  readiness?: Record<string, ReadinessCheck>;
}

export interface GatewayApp {
  app: Express;
  /** The HTTP server's `upgrade` listener: websockets under /socket.io go to realtime, anything else is refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends proxied websockets and pooled upstream connections (after the server stopped accepting). */
  close(): void;
}

/** Socket.IO's own default (maxHttpBufferSize): long-polling may batch several packets in one POST. */
const SOCKET_IO_BODY_LIMIT = 1_000_000;
/** Long-polling GETs are held for up to pingInterval (25 s): the realtime deadline must outlast them. */
const SOCKET_IO_TIMEOUT_MS = 60_000;

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

function pathnameOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** `..`/`.` segments (plain or percent-encoded) and backslashes have no business in an API path. */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)|\\|%5c/i;

async function upstreamHealthy(baseUrl: string): Promise<void> {
  const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`healthz answered ${res.status}`);
}

/** Builds the gateway (never listens): security headers, CORS, CSRF, token verification, identity forwarding, proxies, docs, ops routes. */
export function createGatewayApp(deps: GatewayDeps): GatewayApp {
  const { config, logger } = deps;
  const production = config.NODE_ENV === 'production';
  const metrics = deps.metrics ?? createMetrics('gateway');
  const upstreamMetrics = createUpstreamMetrics(metrics.registry);
  const common = {
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    retryBudgetMs: config.UPSTREAM_RETRY_BUDGET_MS,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    logger,
    metrics: upstreamMetrics,
  };
  const auth = createUpstreamProxy({ ...common, name: 'auth', target: config.AUTH_URL });
  const chatApi = createUpstreamProxy({ ...common, name: 'chat-api', target: config.CHAT_API_URL });
  const realtime = config.REALTIME_URL
    ? createUpstreamProxy({
        ...common,
        name: 'realtime',
        target: config.REALTIME_URL,
        timeoutMs: Math.max(config.UPSTREAM_TIMEOUT_MS, SOCKET_IO_TIMEOUT_MS),
        bodyLimitBytes: SOCKET_IO_BODY_LIMIT,
      })
    : undefined;
  const assistant = config.ASSISTANT_URL
    ? createUpstreamProxy({ ...common, name: 'assistant', target: config.ASSISTANT_URL })
    : undefined;
  // The assistant is not among the readiness checks: without it the chat works, so the gateway stays in rotation.
  const upstreams = [auth, chatApi, ...(realtime ? [realtime] : [])];
  const toAssistant: Pick<UpstreamProxy, 'web'> = assistant ?? {
    web: (_req, _res, next) =>
      next(new AppError(503, 'upstream_unavailable', 'The assistant service is not running here')),
  };

  /** The upstream of a public API path; `/internal/*` and anything else is never routed. */
  const apiUpstream = (path: string): Pick<UpstreamProxy, 'web'> | undefined => {
    // Blocking lives in chat-api (docs/security.md); the rest of /api/users is auth's.
    if (/^\/api\/users\/(blocked|[^/]+\/block)\/?$/.test(path)) return chatApi;
    if (isUnder(path, '/api/auth') || isUnder(path, '/api/users')) return auth;
    if (path === '/api/assistant' || /^\/api\/chats\/[^/]+\/summary\/?$/.test(path)) return toAssistant;
    if (isUnder(path, '/api/chats') || isUnder(path, '/api/search')) return chatApi;
    return undefined;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY ? trustOneLocalHop : false);
  app.use(createHttpLogger(logger));
  app.use(securityHeaders(production));
  app.use(metrics.httpMiddleware);
  app.use((req, _res, next) => {
    const removed = stripInternalHeaders(req);
    if (removed.length > 0) req.log.warn({ removed }, 'client sent internal headers; removed');
    if (DOT_SEGMENT.test(req.path)) return next(AppError.badRequest('Invalid path', 'invalid_path'));
    next();
  });
  app.use(corsPolicy(config.ALLOWED_ORIGINS));

  // The runtime's record, so the checks it adds (draining) are served too.
  const readiness: Record<string, ReadinessCheck> = deps.readiness ?? {};
  for (const upstream of upstreams) readiness[upstream.name] = () => upstreamHealthy(upstream.target);
  app.use(createOpsRouter({ service: 'gateway', registry: metrics.registry, readiness }));

  const openapi = buildOpenApiDocument();
  const asyncapi = buildAsyncApiDocument();
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/api/asyncapi.json', (_req, res) => {
    res.json(asyncapi);
  });
  app.use(
    '/api/docs',
    swaggerUi.serve,
    swaggerUi.setup(null, { customSiteTitle: 'cohortGPT API', swaggerOptions: { url: '/api/openapi.json' } }),
  );

  app.use(originCheck(config.ALLOWED_ORIGINS));

  const proxied = Router();
  proxied.use(authenticate(deps.verifyAccessToken, deps.identitySigner));
  proxied.use((req, res, next) => {
    prepareForwardedHeaders(req, config.TRUST_PROXY);
    apiUpstream(req.path)?.web(req, res, next);
  });
  const toUpstream: RequestHandler = (req, res, next) =>
    apiUpstream(req.path) ? proxied(req, res, next) : next();
  app.use(toUpstream);

  if (realtime) {
    app.use((req, res, next) => {
      if (!isUnder(req.path, '/socket.io')) return next();
      prepareForwardedHeaders(req, config.TRUST_PROXY);
      realtime.web(req, res, next);
    });
  }
  if (config.WEB_ROOT) app.use(webClient(config.WEB_ROOT));

  app.use(notFoundHandler());
  app.use(errorHandler(logger));

  const sockets = new Set<Duplex>();
  const refuse = (socket: Duplex, status: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () =>
      socket.destroy(),
    );
  };

  return {
    app,
    handleUpgrade(req, socket, head) {
      const requestId = ensureRequestId(req);
      stripInternalHeaders(req);
      const path = pathnameOf(req.url);
      if (!realtime || !isUnder(path, '/socket.io') || DOT_SEGMENT.test(path)) {
        refuse(socket, '404 Not Found');
        return;
      }
      // Cross-site websocket hijacking: a browser always sends Origin on a websocket handshake.
      const encrypted = Boolean((req.socket as Partial<TLSSocket>).encrypted);
      if (!isAllowedOrigin(req.headers, config.ALLOWED_ORIGINS, encrypted)) {
        logger.warn(
          { reqId: requestId, origin: req.headers.origin },
          'websocket from a foreign origin refused',
        );
        refuse(socket, '403 Forbidden');
        return;
      }
      prepareForwardedHeaders(req, config.TRUST_PROXY, true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      realtime.upgrade(req, socket, head);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      for (const upstream of upstreams) upstream.close();
      assistant?.close();
    },
  };
}
