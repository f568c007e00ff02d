import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  closeRedis,
  createAccessTokenVerifier,
  createCachedVerifier,
  createIdentitySigner,
  createLogger,
  createMemoryBus,
  createMemoryDenylist,
  createRedisBus,
  createRedisClient,
  createRedisDenylist,
  createShutdown,
  importSigningKey,
  listen,
  pingRedis,
  publicJwkFromPem,
  type EventBus,
  type Logger,
  type ShutdownResult,
  type ShutdownStep,
  type TokenDenylist,
  runService,
} from '@cohort/common';
import { createRedisAdapter } from './adapter';
import { createRealtimeServer } from './app';
import { createChatApiClient } from './clients/chat-api.client';
import { loadRealtimeConfig, type RealtimeConfig } from './config';
import { createRealtimeMetrics } from './metrics';
import { createMemoryPresenceStore } from './presence/presence.store';
import { createRedisPresenceStore } from './presence/redis-presence.store';
import type { RealtimeServer } from './socket-types';

export interface StartRealtimeOptions {
  config: Readonly<RealtimeConfig>;
  logger?: Logger;
  /** Injected by the embedded launcher so every service shares one in-process bus. */
  bus?: EventBus;
  denylist?: TokenDenylist;
}

export interface RunningRealtime {
  port: number;
  replicaId: string;
  io: RealtimeServer;
  /** Graceful stop within SHUTDOWN_TIMEOUT_MS; resolves with what failed, if anything. */
  shutdown(reason: string): Promise<ShutdownResult>;
  close(): Promise<void>;
}

/** Composition root: Redis (or the embedded in-memory pieces), verifier, chat-api client, server; then listens. */
export async function startRealtime(options: StartRealtimeOptions): Promise<RunningRealtime> {
  const { config } = options;
  const logger = options.logger
    ? options.logger.child({ service: 'realtime', replica: config.REPLICA_ID })
    : createLogger({ service: 'realtime', level: config.LOG_LEVEL, base: { replica: config.REPLICA_ID } });
  const steps: ShutdownStep[] = [];
  const shutdown = createShutdown({ logger, steps, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });

  try {
    let redis: { command: Redis; adapterSub: Redis; busSub: Redis } | undefined;
    if (config.REDIS_URL) {
      const url = config.REDIS_URL;
      // Subscriber connections queue (un)subscriptions while Redis is away instead of failing them.
      const subscriber = { maxRetriesPerRequest: null };
      redis = {
        command: createRedisClient({ url, logger, name: `realtime-${config.REPLICA_ID}` }),
        adapterSub: createRedisClient({
          url,
          logger,
          name: `realtime-${config.REPLICA_ID}-adapter`,
          options: subscriber,
        }),
        busSub: createRedisClient({
          url,
          logger,
          name: `realtime-${config.REPLICA_ID}-bus`,
          options: subscriber,
        }),
      };
    }

    const ownBus = !options.bus;
    const bus =
      options.bus ??
      (redis
        ? createRedisBus({ publisher: redis.command, subscriber: redis.busSub, logger })
        : createMemoryBus());
    const denylist =
      options.denylist ?? (redis ? createRedisDenylist(redis.command) : createMemoryDenylist());
    const jwks = config.JWKS_URL
      ? new URL(config.JWKS_URL)
      : { keys: [await publicJwkFromPem(config.JWT_PUBLIC_KEY ?? '', 'ES256')] };
    // A reconnecting client (sticky routing brings it back here) or another tab reuses a token: its signature
    // is verified once, its expiry and the denylist on every handshake.
    const verifyAccessToken = createCachedVerifier({ verify: createAccessTokenVerifier({ jwks }), denylist });
    const signer = createIdentitySigner(
      await importSigningKey(config.INTERNAL_SIGNING_KEY, 'EdDSA'),
      'realtime',
    );
    const chatApi = createChatApiClient({
      baseUrl: config.CHAT_API_URL,
      signer,
      timeoutMs: config.CHAT_API_TIMEOUT_MS,
    });
    const metrics = createRealtimeMetrics(config.REPLICA_ID);
    const presence = redis
      ? createRedisPresenceStore({
          redis: redis.command,
          instanceId: `${config.REPLICA_ID}#${randomBytes(4).toString('hex')}`,
          ttlMs: config.PRESENCE_TTL_MS,
        })
      : createMemoryPresenceStore();

    const server = createRealtimeServer({
      config,
      logger,
      bus,
      verifyAccessToken,
      denylist,
      chatApi,
      presence,
      metrics,
      ...(redis && ownBus ? { busConnected: () => redis.busSub.status === 'ready' } : {}),
      adapter: redis
        ? createRedisAdapter({
            mode: config.ADAPTER_MODE,
            pubClient: redis.command,
            subClient: redis.adapterSub,
            logger,
          })
        : undefined,
      readiness: redis ? { redis: () => pingRedis(redis.command) } : {},
    });

    const graceMs = Math.max(500, Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2));
    steps.push({ name: 'socket.io', close: () => server.close(graceMs) });
    steps.push({ name: 'chat-api client', close: () => chatApi.close() });
    if (ownBus) steps.push({ name: 'bus', close: () => bus.close() });
    if (redis) {
      const clients = redis;
      steps.push({
        name: 'redis',
        close: async () => {
          await Promise.all([
            closeRedis(clients.busSub),
            closeRedis(clients.adapterSub),
            closeRedis(clients.command),
          ]);
        },
      });
    }

    await server.start();
    const port = await listen(server.httpServer, config.PORT);
    logger.info(
      { port, replica: config.REPLICA_ID, adapter: redis ? config.ADAPTER_MODE : 'memory' },
      'started',
    );
    return {
      port,
      replicaId: config.REPLICA_ID,
      io: server.io,
      shutdown,
      async close() {
        await shutdown('close');
      },
    };
  } catch (err) {
    await shutdown('start failed');
    throw err;
  }
}

if (require.main === module) {
  runService({
    service: 'realtime',
    loadConfig: loadRealtimeConfig,
    logLevel: (config) => config.LOG_LEVEL,
    logBase: (config) => ({ replica: config.REPLICA_ID }),
    start: (config, logger) => startRealtime({ config, logger }),
  });
}
