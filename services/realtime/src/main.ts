import { randomBytes } from 'node:crypto';
import {
  createForwardingSigner,
  createMembershipDirectory,
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
import { isUserRoom, type AckError, type RealtimeServer } from './socket-types';

export type StartRealtimeOptions = StartOptions<Readonly<RealtimeConfig>> & {
  /** The assistant's stream store when no Redis is configured (embedded: shared with the assistant). */
  aiStreams?: AiStreamStore;
};

export interface RunningRealtime extends RunningService {
  replicaId: string;
  io: RealtimeServer;
}

/** What a send arriving while the replica drains is answered: retryable, the client sends it again elsewhere. */
const DRAINING: AckError = {
  ok: false,
  error: { code: 'unavailable', message: 'This server is restarting: send again' },
};

/** After the taken sends are answered: how long later arrivals are still answered before the sockets close. */
const DRAIN_QUIET_MS = 250;

interface SendDrain {
  /** From now on, events expecting an ack are answered `unavailable` instead of being handled. */
  refuseNew(): void;
  /** Resolves once every handled event has sent its ack, or after `boundMs`; the number still unanswered. */
  settled(boundMs: number): Promise<number>;
  /**
   * Resolves once every connection has written out what it was given (acks included), or after `boundMs`:
   * closing the server discards what a connection still buffers.
   */
  flushed(boundMs: number): Promise<void>;
}

/**
 * Counts the events with an ack in flight on `io` (registered as a handshake middleware, so its packet middleware
 * runs before the event router's): at shutdown, the sends already taken are answered before the sockets close,
 * and later ones are refused with a retryable error, so no client waits for an ack that never comes.
 */
function trackAckedEvents(io: RealtimeServer): SendDrain {
  let inFlight = 0;
  let refusing = false;
  let onIdle: (() => void) | undefined;
  io.use((socket, next) => {
    socket.use((packet, nextPacket) => {
      const last: unknown = packet[packet.length - 1];
      if (typeof last !== 'function') return nextPacket();
      if (refusing) {
        Reflect.apply(last, undefined, [DRAINING]);
        return;
      }
      inFlight += 1;
      let answered = false;
      packet[packet.length - 1] = (...args: unknown[]) => {
        if (!answered) {
          answered = true;
          inFlight -= 1;
          if (inFlight === 0) onIdle?.();
        }
        Reflect.apply(last, undefined, args);
      };
      nextPacket();
    });
    next();
  });
  return {
    refuseNew() {
      refusing = true;
    },
    async settled(boundMs) {
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, boundMs);
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        onIdle = undefined;
      }
      return inFlight;
    },
    async flushed(boundMs) {
      const deadline = Date.now() + boundMs;
      // Again until nothing is buffered: a refusal written while waiting can leave another connection busy.
      for (;;) {
        const busy = [...io.of('/').sockets.values()]
          .map((socket) => socket.conn)
          .filter((conn) => conn.readyState === 'open' && !conn.transport.writable);
        const left = deadline - Date.now();
        if (busy.length === 0 || left <= 0) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(
            busy.map(
              (conn) =>
                new Promise<void>((resolve) => {
                  conn.once('drain', () => resolve());
                  conn.once('close', () => resolve());
                }),
            ),
          ),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, left);
          }),
        ]);
        clearTimeout(timer);
      }
    },
  };
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
        channels: config.CHAT_API_CHANNELS,
      });
      runtime.onClose('chat-api client', () => chatApi.close());

      const instanceId = `${config.REPLICA_ID}#${randomBytes(4).toString('hex')}`;
      const server = createRealtimeServer({
        config,
        instanceId,
        logger: runtime.logger,
        bus: runtime.bus(),
        verifyAccessToken: await createUserTokenVerifier(config, denylist),
        denylist,
        chatApi,
        ...(redis ? { directory: createMembershipDirectory({ redis, logger: runtime.logger }) } : {}),
        presence: redis
          ? createRedisPresenceStore({
              redis,
              instanceId,
              ttlMs: config.PRESENCE_TTL_MS,
            })
          : createMemoryPresenceStore(),
        metrics: createRealtimeMetrics(config.REPLICA_ID),
        busConnected: () => runtime.busReceiving(),
        busGeneration: () => runtime.busGeneration(),
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
              // Deliveries to a user's sockets are decided by each replica (bus events, except()): no channel each.
              withoutChannel: isUserRoom,
            })
          : undefined,
        readiness: runtime.readiness,
      });

      const sends = trackAckedEvents(server.io);
      await server.start();
      const port = await runtime.listen(server.httpServer, {
        port: config.PORT,
        host: config.HOST,
        backlog: config.LISTEN_BACKLOG,
      });
      const graceMs = Math.max(500, Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2));
      runtime.onClose('socket.io', async () => {
        // Drain: new sends are refused (retryable), the ones taken finish (a chat-api call is bounded by its
        // timeout) and are acknowledged; only then are the sockets closed (they reconnect to another replica).
        sends.refuseNew();
        const unanswered = await sends.settled(Math.min(graceMs, config.CHAT_API_TIMEOUT_MS + 500));
        if (unanswered > 0) runtime.logger.warn({ unanswered }, 'closing with events still unanswered');
        // Sends a client emitted before it could know are still on the wire or in the socket buffers: a short
        // quiet window answers them (refused, retryable) instead of dropping them with the connection.
        await new Promise((resolve) => setTimeout(resolve, DRAIN_QUIET_MS));
        await sends.flushed(1000);
        await server.close(graceMs);
      });
      runtime.logger.info({ port, adapter: redis ? config.ADAPTER_MODE : 'memory' }, 'started');
      return { port, replicaId: config.REPLICA_ID, io: server.io };
    },
  );
}

if (require.main === module) runService('realtime', loadRealtimeConfig, startRealtime);
