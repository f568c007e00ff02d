import { createServer, type Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server, type DisconnectReason, type Event } from 'socket.io';
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
import { ackOf, handlerTable, runEvent } from './handlers/handler-kit';
import { createPresenceHandlers } from './handlers/presence.handlers';
import { LocalSockets } from './local-sockets';
import { KNOWN_CLIENT_EVENTS, type RealtimeMetrics } from './metrics';
import type { PresenceStore } from './presence/presence.store';
import { TokenBuckets } from './rate-limit';
import { createRoomNames } from './room-names';
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

// What a socket's `handshake.auth` holds once verified (one shared empty object).
const NO_AUTH = Object.freeze({});

// Sessions checked against the denylist per Redis round trip by the periodic revocation check.
const REVOCATION_CHUNK = 500;
const CREDENTIAL_HEADER = /^(cookie|authorization)$/i;

/**
 * Once verified, the claims are all a socket needs: Socket.IO and Engine.IO keep the handshake (its `auth`, and
 * the request with its headers) for the connection's whole life, so the ~0.8 KiB token it came with, in `auth`
 * or in the cookie, would stay in memory as long.
 */
function forgetCredentials(socket: RealtimeSocket): void {
  socket.handshake.auth = NO_AUTH;
  const { headers } = socket.handshake;
  // Assigned rather than deleted: a deleted property would turn the headers object into a larger dictionary.
  if (headers.cookie !== undefined) headers.cookie = undefined;
  if (headers.authorization !== undefined) headers.authorization = undefined;
  const raw = socket.request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (CREDENTIAL_HEADER.test(raw[i]!)) raw[i + 1] = '';
}

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
  const roomName = createRoomNames(io.of('/').adapter);
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
    forgetCredentials(socket);
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
      await socket.join([userRoom(claims.userId), ...chatIds.map(chatRoom)].map(roomName));
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
  const auth = createAuthHandlers({
    verify: verifyAccessToken,
    localSockets,
    metrics,
    logger,
    sockets: io.of('/').sockets,
  });
  const presenceHandlers = createPresenceHandlers({
    io,
    store: presence,
    chatApi,
    metrics,
    logger,
    heartbeatMs: Math.max(1000, Math.floor(config.PRESENCE_TTL_MS / 3)),
  });
  const sharedHandlers = handlerTable(auth.handlers, presenceHandlers.handlers);
  // Chat's handlers are registered per socket, so only once it sends its first chat event: idle sockets never do.
  const withChatHandlers = new WeakSet<RealtimeSocket>();
  const rateLimits = new TokenBuckets(config.RATE_LIMIT_BURST, config.RATE_LIMIT_PER_SECOND);

  const refuse = (args: readonly unknown[], error: AckError) => {
    try {
      ackOf(args)?.(error);
    } catch (err) {
      logger.warn({ err }, 'ack failed');
    }
  };

  /**
   * The first stop of every client event (a socket's only middleware): counted, rate limited, refused when
   * unknown, then run by its shared handler; events without one go on to the socket's listeners.
   */
  const route = (socket: RealtimeSocket, [event, ...args]: Event, next: (err?: Error) => void): void => {
    const known = KNOWN_CLIENT_EVENTS.has(event);
    metrics.eventsIn.inc({ event: known ? event : 'unknown' });
    if (!rateLimits.take(socket)) {
      metrics.rateLimited.inc();
      return refuse(args, {
        ok: false,
        error: { code: 'rate_limited', message: 'Too many events; slow down and retry' },
      });
    }
    if (!known)
      return refuse(args, { ok: false, error: { code: 'unknown_event', message: `Unknown event` } });
    const handler = sharedHandlers.get(event);
    if (handler) return runEvent(socket, event, args, logger, handler);
    if (!withChatHandlers.has(socket)) {
      withChatHandlers.add(socket);
      registerChat(socket);
    }
    next();
  };

  function onError(this: RealtimeSocket, err: Error): void {
    logger.warn({ err, socketId: this.id }, 'socket error');
  }

  // The last moment the socket's rooms are known (presence needs them); `disconnect` follows in the same tick.
  function onDisconnecting(this: RealtimeSocket, reason: DisconnectReason): void {
    metrics.connectedSockets.dec();
    localSockets.removeSession(this, this.data.sessionId);
    presenceHandlers.remove(this);
    logger.debug({ socketId: this.id, userId: this.data.userId, reason }, 'socket disconnected');
  }

  // Besides the middleware's closure, every function registered here is shared by every socket: an idle socket's
  // own state is its Socket.IO objects, its `data` and one entry in `localSockets`.
  io.on('connection', (socket) => {
    metrics.connectedSockets.inc();
    localSockets.addSession(socket, socket.data.sessionId);
    socket.use((packet, next) => route(socket, packet, next));
    socket.on('error', onError);
    socket.on('disconnecting', onDisconnecting);
    auth.watch(socket);
    presenceHandlers.add(socket);
  });

  let unsubscribe: Unsubscribe | undefined;
  let revocationTimer: NodeJS.Timeout | undefined;
  const checkRevocations = async () => {
    const { denylist } = deps;
    if (!denylist) return;
    // One round trip per chunk of sessions, not one per session.
    const sessions = localSockets.sessions();
    for (let start = 0; start < sessions.length; start += REVOCATION_CHUNK) {
      const chunk = sessions.slice(start, start + REVOCATION_CHUNK);
      const revoked = await denylist.revokedAmong(
        chunk.map(([sessionId, sockets]) => [sessionId, ...sockets.map((s) => s.data.tokenId)]),
      );
      chunk.forEach(([sessionId, sockets], i) => {
        if (!revoked[i]) return;
        logger.info(
          { sessionId, sockets: sockets.length },
          'revoked session found by the periodic check: disconnecting',
        );
        for (const socket of sockets) socket.disconnect(true);
      });
    }
  };

  return {
    httpServer,
    io,
    async start() {
      unsubscribe = await startBusConsumers({ io, bus, localSockets, metrics, logger, delivery });
      presenceHandlers.start();
      revocationTimer = setInterval(() => {
        checkRevocations().catch((err: unknown) => logger.warn({ err }, 'revocation check failed'));
      }, config.REVOCATION_CHECK_MS);
      revocationTimer.unref();
    },
    async close(graceMs = 3000) {
      draining = true;
      clearInterval(revocationTimer);
      presenceHandlers.drain();
      auth.close();
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
