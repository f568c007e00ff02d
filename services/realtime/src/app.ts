import { createServer, type Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';
import {
  AppError,
  createBaseApp,
  createOpsRouter,
  errorHandler,
  extractAccessToken,
  isAllowedOrigin,
  notFoundHandler,
  type AccessTokenVerifier,
  type EventBus,
  type Logger,
  type ReadinessCheck,
  type TokenDenylist,
  type Unsubscribe,
} from '@cohort/common';
import type { AdapterFactory } from './adapter';
import type { ChatApiClient } from './clients/chat-api.client';
import type { RealtimeConfig } from './config';
import { createChatEventDelivery, startBusConsumers } from './consumers/bus.consumers';
import { createAuthHandlers, verifyToken } from './handlers/auth.handlers';
import { createChatHandlers } from './handlers/chat.handlers';
import { ackOf } from './handlers/handler-kit';
import { createPresenceHandlers } from './handlers/presence.handlers';
import { LocalSockets } from './local-sockets';
import { KNOWN_CLIENT_EVENTS, type RealtimeMetrics } from './metrics';
import type { PresenceStore } from './presence/presence.store';
import { TokenBucket } from './rate-limit';
import { chatRoom, userRoom, type AckError, type RealtimeServer, type RealtimeSocket } from './socket-types';

export type RealtimeServerConfig = Pick<
  RealtimeConfig,
  | 'REPLICA_ID'
  | 'ALLOWED_ORIGINS'
  | 'ADAPTER_MODE'
  | 'MAX_PAYLOAD_BYTES'
  | 'RATE_LIMIT_BURST'
  | 'RATE_LIMIT_PER_SECOND'
  | 'PRESENCE_TTL_MS'
  | 'REVOCATION_CHECK_MS'
  | 'NODE_ENV'
>;

export interface RealtimeServerDeps {
  config: RealtimeServerConfig;
  logger: Logger;
  bus: EventBus;
  verifyAccessToken: AccessTokenVerifier;
  /** Consulted periodically for the sessions of live sockets (the verifier already consults it at handshake). */
  denylist?: TokenDenylist;
  chatApi: ChatApiClient;
  presence: PresenceStore;
  metrics: RealtimeMetrics;
  /** The Redis adapter; absent in embedded mode (Socket.IO's in-memory adapter). */
  adapter?: AdapterFactory;
  readiness?: Record<string, ReadinessCheck>;
  /** False while the bus subscription is down (Redis away); absent = the in-process bus, always up. */
  busConnected?: () => boolean;
}

export interface RealtimeApp {
  httpServer: HttpServer;
  io: RealtimeServer;
  /** Subscribes to the bus and starts the presence heartbeat. */
  start(): Promise<void>;
  /**
   * Graceful stop: refuse new handshakes, close every client's transport (socket.io-client then reconnects,
   * through the edge, to another replica), stop the bus consumers and close the HTTP server; connections still
   * open after `graceMs` are cut.
   */
  close(graceMs?: number): Promise<void>;
}

/** The handshake refusal the contract names (DESIGN.md §4); `unavailable` when we, not the client, are at fault. */
const refusal = (code: 'unauthorized' | 'unavailable') => new Error(code);

/** Builds the replica's HTTP server (ops routes) and Socket.IO server. Never listens. */
export function createRealtimeServer(deps: RealtimeServerDeps): RealtimeApp {
  const { config, logger, bus, verifyAccessToken, chatApi, presence, metrics } = deps;

  const app = createBaseApp({ logger, metrics, production: config.NODE_ENV === 'production' });
  app.use(
    createOpsRouter({
      service: 'realtime',
      registry: metrics.registry,
      readiness: deps.readiness ?? {},
      info: { replica: config.REPLICA_ID, adapter: deps.adapter ? config.ADAPTER_MODE : 'memory' },
    }),
  );
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  const httpServer = createServer(app);

  const io: RealtimeServer = new Server(httpServer, {
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: config.MAX_PAYLOAD_BYTES,
    // Browsers on another allowed origin need CORS for the polling transport; same-origin needs none.
    cors:
      config.ALLOWED_ORIGINS.length > 0
        ? { origin: [...config.ALLOWED_ORIGINS], credentials: true }
        : undefined,
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
  });

  // Every handshake response, polling and websocket upgrade alike, names the replica (operators, cluster tests).
  io.engine.on('initial_headers', (headers: Record<string, string>) => {
    headers['x-replica'] = config.REPLICA_ID;
  });
  io.engine.on('headers', (headers: Record<string, string>) => {
    headers['x-replica'] = config.REPLICA_ID;
  });
  io.engine.on('connection_error', (err: { code: number; message: string }) => {
    logger.debug({ code: err.code, message: err.message }, 'engine connection refused');
  });
  io.of('/').adapter.on('error', (err: unknown) => logger.error({ err }, 'adapter error'));

  const localSockets = new LocalSockets();
  let draining = false;

  io.use(async (socket: RealtimeSocket, next) => {
    if (draining) return next(refusal('unavailable'));
    const { headers } = socket.handshake;
    if (!isAllowedOrigin(headers, config.ALLOWED_ORIGINS, socket.handshake.secure)) {
      logger.info({ origin: headers.origin }, 'handshake refused: origin not allowed');
      return next(refusal('unauthorized'));
    }
    const auth: unknown = socket.handshake.auth;
    const fromAuth = typeof auth === 'object' && auth !== null && 'token' in auth ? auth.token : undefined;
    const token =
      typeof fromAuth === 'string' && fromAuth.length > 0
        ? fromAuth
        : extractAccessToken({ authorization: headers.authorization, cookie: headers.cookie })?.token;
    if (!token) return next(refusal('unauthorized'));

    let claims;
    try {
      claims = await verifyToken(verifyAccessToken, token, logger);
    } catch (err) {
      return next(refusal(err instanceof AppError && err.status === 401 ? 'unauthorized' : 'unavailable'));
    }
    // The verified claims are all the socket needs: do not keep the ~0.8 KiB token alive for its whole life.
    socket.handshake.auth = {};
    socket.data = {
      userId: claims.userId,
      sessionId: claims.sessionId,
      tokenId: claims.tokenId,
      tokenExpiresAt: claims.expiresAt,
      tokenIssuedAt: claims.issuedAt,
    };

    // Rooms are joined before the client sees `connect`: once connected, nothing published for its chats is missed.
    localSockets.startHandshake(socket, claims.userId);
    try {
      const chatIds = await chatApi.memberships(claims, randomUUID());
      await socket.join([userRoom(claims.userId), ...chatIds.map(chatRoom)]);
      next();
    } catch (err) {
      logger.warn({ err, userId: claims.userId }, 'handshake failed: memberships unavailable');
      next(refusal(err instanceof AppError && err.status === 401 ? 'unauthorized' : 'unavailable'));
    } finally {
      localSockets.endHandshake(socket, claims.userId);
    }
  });

  const delivery = createChatEventDelivery({ io, localSockets, metrics, logger });
  const registerChat = createChatHandlers({
    chatApi,
    metrics,
    logger,
    deliver: delivery,
    busConnected: deps.busConnected ?? (() => true),
  });
  const registerAuth = createAuthHandlers({ verify: verifyAccessToken, localSockets, metrics, logger });
  const registerPresence = createPresenceHandlers({
    io,
    store: presence,
    chatApi,
    metrics,
    logger,
    heartbeatMs: Math.max(1000, Math.floor(config.PRESENCE_TTL_MS / 3)),
  });

  io.on('connection', (socket) => {
    metrics.connectedSockets.inc();
    localSockets.addSession(socket, socket.data.sessionId);

    const bucket = new TokenBucket(config.RATE_LIMIT_BURST, config.RATE_LIMIT_PER_SECOND);
    socket.use(([event, ...args], next) => {
      const known = KNOWN_CLIENT_EVENTS.has(event);
      metrics.eventsIn.inc({ event: known ? event : 'unknown' });
      const ack = ackOf(args);
      const refuse = (error: AckError) => {
        try {
          ack?.(error);
        } catch (err) {
          logger.warn({ err }, 'ack failed');
        }
      };
      if (!bucket.take()) {
        metrics.rateLimited.inc();
        return refuse({
          ok: false,
          error: { code: 'rate_limited', message: 'Too many events; slow down and retry' },
        });
      }
      if (!known) return refuse({ ok: false, error: { code: 'unknown_event', message: `Unknown event` } });
      next();
    });
    socket.on('error', (err) => logger.warn({ err, socketId: socket.id }, 'socket error'));

    registerAuth(socket);
    registerChat(socket);
    registerPresence(socket);

    socket.on('disconnect', (reason) => {
      metrics.connectedSockets.dec();
      localSockets.removeSession(socket, socket.data.sessionId);
      logger.debug({ socketId: socket.id, userId: socket.data.userId, reason }, 'socket disconnected');
    });
  });

  let unsubscribe: Unsubscribe | undefined;
  let revocationTimer: NodeJS.Timeout | undefined;
  const checkRevocations = async () => {
    const { denylist } = deps;
    if (!denylist) return;
    for (const [sessionId, sockets] of localSockets.sessions()) {
      if (await denylist.isRevoked(sessionId, ...sockets.map((s) => s.data.tokenId))) {
        logger.info(
          { sessionId, sockets: sockets.length },
          'revoked session found by the periodic check: disconnecting',
        );
        for (const socket of sockets) socket.disconnect(true);
      }
    }
  };

  return {
    httpServer,
    io,
    async start() {
      unsubscribe = await startBusConsumers({ io, bus, localSockets, metrics, logger, delivery });
      registerPresence.start();
      revocationTimer = setInterval(() => {
        checkRevocations().catch((err: unknown) => logger.warn({ err }, 'revocation check failed'));
      }, config.REVOCATION_CHECK_MS);
      revocationTimer.unref();
    },
    async close(graceMs = 3000) {
      draining = true;
      clearInterval(revocationTimer);
      registerPresence.drain();
      const closed = new Promise<void>((resolve) => {
        // Closes every engine connection (clients see "transport close" and reconnect elsewhere) and the HTTP server.
        void io.close(() => resolve());
      });
      httpServer.closeIdleConnections();
      const cut = setTimeout(() => httpServer.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(cut);
      await unsubscribe?.();
    },
  };
}
