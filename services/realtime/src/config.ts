import { hostname } from 'node:os';
import { z } from 'zod';
import { baseEnvSchema, env, loadConfig } from '@cohort/common';

/** An unset variable and one set to '' mean the same (compose files often pass empty values). */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <S extends z.ZodType>(schema: S) => z.preprocess(blankToUndefined, schema.optional());

export const realtimeEnvSchema = baseEnvSchema
  .extend({
    PORT: env.port(3003),
    /** Names this replica in logs, metrics, `/healthz` and the `x-replica` handshake header. */
    REPLICA_ID: z
      .preprocess(
        blankToUndefined,
        z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only')
          .optional(),
      )
      .transform((v) => v ?? `${hostname()}-${process.pid}`),
    /** Unset: embedded mode (in-memory adapter, bus, denylist and presence). */
    REDIS_URL: optional(env.url()),
    JWKS_URL: optional(env.url()),
    JWT_PUBLIC_KEY: optional(env.pem()),
    INTERNAL_SIGNING_KEY: env.pem(),
    CHAT_API_URL: env.url(),
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
    CHAT_API_TIMEOUT_MS: env.positiveInt(5000),
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

/** Reads and validates the environment once; a bad value throws a ConfigError naming it. */
export function loadRealtimeConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<RealtimeConfig> {
  return loadConfig(realtimeEnvSchema, source);
}
