import { randomBytes } from 'node:crypto';
import {
  createForwardingSigner,
  createMemoryAiStreamStore,
  createRedisAiStreamStore,
  type AiStreamStore,
  createUserTokenVerifier,
  runService,
  startService,
  type RunningService,
  type StartOptions,
} from '@cohort/common';
import { createRedisAdapter } from './adapter';
import { createRealtimeServer } from './app';
import { createChatApiClient } from './clients/chat-api.client';
import { loadRealtimeConfig, type RealtimeConfig } from './config';
import { createRealtimeMetrics } from './metrics';
import { createMemoryPresenceStore } from './presence/presence.store';
import { createRedisPresenceStore } from './presence/redis-presence.store';
import type { RealtimeServer } from './socket-types';

export type StartRealtimeOptions = StartOptions<Readonly<RealtimeConfig>> & {
  /** The assistant's stream store when no Redis is configured (embedded: shared with the assistant). */
  aiStreams?: AiStreamStore;
};

export interface RunningRealtime extends RunningService {
  replicaId: string;
  io: RealtimeServer;
}

/** Composition root: verifier, chat-api client, presence, the Socket.IO server and its adapter; then listens. */
export function startRealtime(options: StartRealtimeOptions): Promise<RunningRealtime> {
  const { config } = options;
  return startService(
    {
      service: 'realtime',
      ...options,
      logBase: { replica: config.REPLICA_ID },
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    },
    async (runtime) => {
      const redis = runtime.redis();
      const denylist = runtime.denylist();
      const chatApi = createChatApiClient({
        baseUrl: config.CHAT_API_URL,
        signer: await createForwardingSigner(config.INTERNAL_SIGNING_KEY, 'realtime'),
        timeoutMs: config.CHAT_API_TIMEOUT_MS,
      });
      runtime.onClose('chat-api client', () => chatApi.close());

      const server = createRealtimeServer({
        config,
        logger: runtime.logger,
        bus: runtime.bus(),
        verifyAccessToken: await createUserTokenVerifier(config, denylist),
        denylist,
        chatApi,
        presence: redis
          ? createRedisPresenceStore({
              redis,
              instanceId: `${config.REPLICA_ID}#${randomBytes(4).toString('hex')}`,
              ttlMs: config.PRESENCE_TTL_MS,
            })
          : createMemoryPresenceStore(),
        metrics: createRealtimeMetrics(config.REPLICA_ID),
        busConnected: () => runtime.busReceiving(),
        aiStreams:
          options.aiStreams ?? (redis ? createRedisAiStreamStore(redis) : createMemoryAiStreamStore()),
        ...(redis ? { redis } : {}),
        adapter: redis
          ? createRedisAdapter({
              mode: config.ADAPTER_MODE,
              pubClient: redis,
              // Subscriber connections queue (un)subscriptions while Redis is away instead of failing them.
              subClient: runtime.redisConnection('adapter', { maxRetriesPerRequest: null }),
              logger: runtime.logger,
            })
          : undefined,
        readiness: runtime.readiness,
      });

      await server.start();
      const port = await runtime.listen(server.httpServer, { port: config.PORT, host: config.HOST });
      // Socket.IO lets in-flight events finish, then disconnects its sockets and closes the listener itself.
      const graceMs = Math.max(500, Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2));
      runtime.onClose('socket.io', () => server.close(graceMs));
      runtime.logger.info({ port, adapter: redis ? config.ADAPTER_MODE : 'memory' }, 'started');
      return { port, replicaId: config.REPLICA_ID, io: server.io };
    },
  );
}

if (require.main === module) runService('realtime', loadRealtimeConfig, startRealtime);
