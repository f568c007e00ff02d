import { hostname } from 'node:os';
import { z } from 'zod';
import { baseEnvSchema, configLoader, env } from '@cohort/common';

const { optional, rateLimit } = env;

export type { RateLimit } from '@cohort/common';

export const realtimeEnvSchema = baseEnvSchema
  .extend({
    PORT: env.port(3003),
    /** Names this replica in logs, metrics, `/healthz` and the `x-replica` handshake header. */
    REPLICA_ID: optional(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only'),
    ).transform((v) => v ?? `${hostname()}-${process.pid}`),
    /** Unset: embedded mode (in-memory adapter, bus, denylist and presence). */
    REDIS_URL: env.redisUrl(),
    JWKS_URL: optional(env.url()),
    JWT_PUBLIC_KEY: optional(env.pem()),
    INTERNAL_SIGNING_KEY: env.pem(),
    CHAT_API_URL: env.serviceUrl(),
    ALLOWED_ORIGINS: env.list(),
    /**
     * `sharded` (Redis 7 SPUBLISH, one channel per room, a replica subscribes only to rooms it has members in)
     * delivers as fast as `classic` at a lower replica CPU cost and a fraction of the pub/sub traffic
     * (bench/fanout.bench.ts; figures in the README).
     */
    ADAPTER_MODE: z.enum(['classic', 'sharded']).default('sharded'),
    /** Largest Socket.IO packet accepted (a 4,000-character message is at most ~12 KB of JSON). */
    MAX_PAYLOAD_BYTES: env.positiveInt(32 * 1024),
    /** Per-socket token bucket over every client event. */
    RATE_LIMIT_BURST: env.positiveInt(60),
    RATE_LIMIT_PER_SECOND: env.positiveInt(20),
    /**
     * Every client event of a user, over all their sockets on every replica (Redis; in-process when embedded):
     * more sockets must not multiply a user's budget. The per-socket bucket above stays in front of it.
     */
    USER_EVENT_RATE_LIMIT: rateLimit('events', { points: 600, durationSeconds: 10 }),
    /** Concurrent sockets of one user over every replica; one more handshake is refused (`too_many_connections`). */
    MAX_SOCKETS_PER_USER: env.positiveInt(20),
    /**
     * Handshakes one replica works on at once, so a reconnect storm is taken at the rate the replica can finish
     * handshakes instead of starting them all; the ones beyond wait for a place (below), then are refused with the
     * retryable `overloaded`.
     */
    MAX_CONCURRENT_HANDSHAKES: env.positiveInt(256),
    /** Handshakes that wait for a place beyond those, first come first served; 0: one more is refused at once. */
    HANDSHAKE_QUEUE: z.coerce.number().int().min(0).default(1024),
    /** How long a handshake waits for its place before it is refused (`overloaded`, retryable). */
    HANDSHAKE_QUEUE_WAIT_MS: env.positiveInt(3000),
    /**
     * The recent messages of chats a replica serves, kept current by the bus, answer `chat:sync` catch-ups without
     * chat-api (sync/recent-messages.ts): at most this much memory (an estimate); 0 turns them off.
     */
    RECENT_MESSAGES_MB: z.coerce.number().int().min(0).default(64),
    /** Longest a chat's recent messages are trusted without asking chat-api again; 0 turns them off. */
    RECENT_MESSAGES_TTL_MS: z.coerce.number().int().min(0).default(30_000),
    /**
     * Accept queue of the listening socket (Linux caps it at `net.core.somaxconn`, 4096 by default). In a
     * reconnect storm thousands of connections arrive at once; with Node's default of 511 nginx's connects time
     * out while the queue is full and nginx takes the replica out of rotation (measured in bench/README.md).
     */
    LISTEN_BACKLOG: env.positiveInt(4096),
    CHAT_API_TIMEOUT_MS: env.positiveInt(5000),
    /**
     * WebSockets kept open to chat-api's internal channel, which carry the batches of sends, handshake lookups and
     * syncs instead of an HTTP request each (HTTP while none is open); 0 = HTTP only.
     */
    CHAT_API_CHANNELS: z.coerce.number().int().min(0).max(16).default(2),
    /** A socket not refreshed for this long counts as gone (crashed replica). */
    PRESENCE_TTL_MS: env.positiveInt(30_000),
    /**
     * How often live sessions are checked against the denylist: revocations normally arrive at once over the bus,
     * and this bounds how long a socket outlives a revocation whose bus message was lost (Redis outage).
     */
    REVOCATION_CHECK_MS: env.positiveInt(30_000),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(10_000),
  })
  .refine((c) => c.JWKS_URL !== undefined || c.JWT_PUBLIC_KEY !== undefined, {
    message: 'set JWKS_URL (auth’s /api/auth/jwks.json) or JWT_PUBLIC_KEY',
    path: ['JWKS_URL'],
  });

export type RealtimeConfig = z.infer<typeof realtimeEnvSchema>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadRealtimeConfig = configLoader(realtimeEnvSchema);
