import { createServer, type Server as HttpServer } from 'node:http';
import type { Redis } from 'ioredis';
import { Server, type DisconnectReason } from 'socket.io';
import {
  createBaseApp,
  createOpsRouter,
  errorHandler,
  notFoundHandler,
  type AccessTokenVerifier,
  type AiStreamStore,
  type EventBus,
  type Logger,
  type MembershipDirectory,
  type ReadinessCheck,
  type TokenDenylist,
  type Unsubscribe,
} from '@cohort/common';
import type { AdapterFactory } from './adapter';
import { BlockPartners } from './block-partners';
import type { ChatApiClient } from './clients/chat-api.client';
import type { RealtimeConfig } from './config';
import { createChatEventDelivery, startBusConsumers } from './consumers/bus.consumers';
import type { EventHandlers } from './events/event-handler';
import { createEventRouter } from './events/event-router';
import { createUserEventLimit } from './events/user-event-limit';
import { createAuthHandlers } from './handlers/auth.handlers';
import { createChatHandlers } from './handlers/chat.handlers';
import { createPresenceHandlers } from './handlers/presence.handlers';
import { createAiHandlers } from './handlers/ai.handlers';
import { startAiDeltaRelay } from './consumers/ai-deltas';
import { authenticateHandshake } from './handshake/authenticate-handshake';
import { createMemoryConnectionQuota, createRedisConnectionQuota } from './handshake/connection-quota';
import { admitHandshakes } from './handshake/handshake-admission';
import { LocalSockets } from './local-sockets';
import type { RealtimeMetrics } from './metrics';
import { createPresenceTracker } from './presence/presence-tracker';
import { heartbeatMs } from './presence/renewal';
import type { PresenceStore } from './presence/presence.store';
import { createRoomNames } from './room-names';
import { createRevocationCheck } from './sessions/revocation-check';
import { createTokenExpiry } from './sessions/token-expiry';
import { userRoom, type RealtimeServer, type RealtimeSocket } from './socket-types';
import { createRecentMessages } from './sync/recent-messages';

export type RealtimeServerConfig = Pick<
  RealtimeConfig,
  | 'REPLICA_ID'
  | 'ALLOWED_ORIGINS'
  | 'ADAPTER_MODE'
  | 'MAX_PAYLOAD_BYTES'
  | 'RATE_LIMIT_BURST'
  | 'RATE_LIMIT_PER_SECOND'
  | 'USER_EVENT_RATE_LIMIT'
  | 'MAX_SOCKETS_PER_USER'
  | 'MAX_CONCURRENT_HANDSHAKES'
  | 'HANDSHAKE_QUEUE'
  | 'HANDSHAKE_QUEUE_WAIT_MS'
  | 'RECENT_MESSAGES_MB'
  | 'RECENT_MESSAGES_TTL_MS'
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
  /** A returning user's memberships, kept in Redis by chat-api; absent in embedded mode (chat-api is asked). */
  directory?: Pick<MembershipDirectory, 'read'>;
  presence: PresenceStore;
  metrics: RealtimeMetrics;
  /** The Redis adapter; absent in embedded mode (Socket.IO's in-memory adapter). */
  adapter?: AdapterFactory;
  readiness?: Record<string, ReadinessCheck>;
  /** False while the bus subscription is down (Redis away); absent = the in-process bus, always up. */
  busConnected?: () => boolean;
  /** Changes whenever the bus may have missed an event (its subscriber reconnected); absent = never. */
  busGeneration?: () => number;
  /** Shares the per-user limits (sockets, events) between replicas; absent = kept in this process (embedded). */
  redis?: Redis;
  /**
   * This process among the replicas (a restarted replica is another instance): what it holds in Redis, presence's
   * sockets and the connection cap's places, is listed under it, for the sweep when it dies.
   */
  instanceId: string;
  /** The assistant's stream store (`ai:resume`, `ai:stop`): Redis in the cluster, the launcher's in-process one embedded. */
  aiStreams: AiStreamStore;
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

/**
 * Builds the replica's HTTP server (ops routes) and Socket.IO server, and wires its parts: the handshake
 * (handshake/), the event router and its handlers (events/, handlers/), the sessions' expiry and revocation
 * (sessions/), presence (presence/) and delivery from the bus (consumers/). Never listens.
 */
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

  const sockets = io.of('/').sockets;
  const localSockets = new LocalSockets();
  const blockPartners = new BlockPartners();
  let draining = false;
  const connections = deps.redis
    ? createRedisConnectionQuota({
        redis: deps.redis,
        max: config.MAX_SOCKETS_PER_USER,
        ttlMs: config.PRESENCE_TTL_MS,
        logger,
        instanceId: deps.instanceId,
      })
    : createMemoryConnectionQuota(config.MAX_SOCKETS_PER_USER);

  io.use(
    admitHandshakes(
      {
        max: config.MAX_CONCURRENT_HANDSHAKES,
        queue: config.HANDSHAKE_QUEUE,
        queueWaitMs: config.HANDSHAKE_QUEUE_WAIT_MS,
        metrics,
        logger,
      },
      authenticateHandshake({
        allowedOrigins: config.ALLOWED_ORIGINS,
        verifyAccessToken,
        chatApi,
        directory: deps.directory,
        localSockets,
        blockPartners,
        connections,
        roomName: createRoomNames(io.of('/').adapter),
        draining: () => draining,
        metrics,
        logger,
      }),
    ),
  );

  const busConnected = deps.busConnected ?? (() => true);
  const recentMessages = createRecentMessages({
    maxBytes: config.RECENT_MESSAGES_MB * 1024 * 1024,
    ttlMs: config.RECENT_MESSAGES_TTL_MS,
    feed: { receiving: busConnected, generation: deps.busGeneration ?? (() => 0) },
  });
  const delivery = createChatEventDelivery({
    io,
    localSockets,
    blockPartners,
    metrics,
    logger,
    recentMessages,
  });
  const expiry = createTokenExpiry({ sockets, metrics, logger });
  const presenceTracker = createPresenceTracker({
    io,
    store: presence,
    connections,
    blockPartners,
    metrics,
    logger,
    heartbeatMs: heartbeatMs(config.PRESENCE_TTL_MS),
  });
  const revocation = deps.denylist
    ? createRevocationCheck({
        denylist: deps.denylist,
        localSockets,
        logger,
        intervalMs: config.REVOCATION_CHECK_MS,
      })
    : undefined;

  // A handler for every event of the contract (the type says so): the router refuses any other name.
  const handlers: EventHandlers = {
    ...createChatHandlers({
      chatApi,
      metrics,
      deliver: delivery,
      busConnected,
      blockPartners,
      recent: recentMessages,
    }),
    ...createAuthHandlers({ verify: verifyAccessToken, localSockets, expiry, logger }),
    ...createPresenceHandlers({ store: presence, chatApi, blockPartners }),
    ...createAiHandlers({ streams: deps.aiStreams, bus }),
  };
  const route = createEventRouter({
    handlers,
    metrics,
    logger,
    rateLimit: { burst: config.RATE_LIMIT_BURST, perSecond: config.RATE_LIMIT_PER_SECOND },
    userLimit: createUserEventLimit({
      limit: config.USER_EVENT_RATE_LIMIT,
      logger,
      ...(deps.redis ? { redis: deps.redis } : {}),
    }),
  });

  function onError(this: RealtimeSocket, err: Error): void {
    logger.warn({ err, socketId: this.id }, 'socket error');
  }

  const localRooms = io.of('/').adapter.rooms;
  // A user's block partners are kept while they have a socket here (this one is still in its user room).
  function forgetPartnersIfLast(socket: RealtimeSocket): void {
    const { userId } = socket.data;
    const mine = localRooms.get(userRoom(userId));
    const others = mine ? mine.size - (mine.has(socket.id) ? 1 : 0) : 0;
    if (others === 0 && localSockets.handshakingOf(userId).length === 0) blockPartners.forget(userId);
  }

  // The last moment the socket's rooms are known (presence needs them); `disconnect` follows in the same tick.
  function onDisconnecting(this: RealtimeSocket, reason: DisconnectReason): void {
    metrics.connectedSockets.dec();
    localSockets.removeSession(this, this.data.sessionId);
    // Even while draining (unlike presence): the user reconnecting elsewhere needs the place back at once.
    connections.release(this.data.userId, this.id);
    presenceTracker.remove(this);
    forgetPartnersIfLast(this);
    logger.debug({ socketId: this.id, userId: this.data.userId, reason }, 'socket disconnected');
  }

  // Besides the router's closure, every function registered here is shared by every socket: an idle socket's
  // own state is its Socket.IO objects, its `data` and one entry in `localSockets`.
  io.on('connection', (socket) => {
    metrics.connectedSockets.inc();
    localSockets.addSession(socket, socket.data.sessionId);
    socket.use((packet) => route(socket, packet));
    socket.on('error', onError);
    socket.on('disconnecting', onDisconnecting);
    expiry.watch(socket);
    presenceTracker.add(socket);
  });

  let unsubscribe: Unsubscribe | undefined;

  return {
    httpServer,
    io,
    async start() {
      const [chatEvents, aiDeltas] = await Promise.all([
        startBusConsumers({ io, bus, localSockets, blockPartners, metrics, logger, delivery }),
        startAiDeltaRelay({ io, bus, metrics, logger }),
      ]);
      unsubscribe = async () => {
        await Promise.all([chatEvents(), aiDeltas()]);
      };
      presenceTracker.start();
      revocation?.start();
    },
    async close(graceMs = 3000) {
      draining = true;
      revocation?.stop();
      presenceTracker.drain();
      expiry.close();
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
