import { z } from 'zod';
import { baseEnvSchema, env, loadConfig } from '@cohort/common';

/** Unset and empty are the same thing for optional variables (`SEND_RATE_LIMIT=` in a compose file). */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export interface SendRateLimit {
  points: number;
  durationSeconds: number;
}

/** `SEND_RATE_LIMIT`: `<messages>/<seconds>s` per user, e.g. `120/10s`. DESIGN.md §2 promises at least 60 per 10 s. */
const sendRateLimit = z
  .string()
  .regex(/^\d+\/\d+s$/, 'must look like 120/10s (messages per seconds)')
  .transform((raw): SendRateLimit => {
    const [points, duration] = raw.slice(0, -1).split('/');
    return { points: Number(points), durationSeconds: Number(duration) };
  })
  .refine((l) => l.points > 0 && l.durationSeconds > 0, 'both numbers must be positive');

export const chatApiEnvSchema = baseEnvSchema.extend({
  PORT: env.port(3002),
  MONGO_URL: env.mongoUrl(),
  REDIS_URL: env.redisUrl(),
  INTERNAL_JWKS: env.jwks(),
  AUTH_URL: env.serviceUrl(),
  SEND_RATE_LIMIT: z.preprocess(
    blankToUndefined,
    sendRateLimit.default({ points: 120, durationSeconds: 10 }),
  ),
  /** How long a sender's confirmed membership is trusted by the send path (lib/membership-cache.ts); 0 = off. */
  MEMBERSHIP_CACHE_MS: z.coerce.number().int().min(0).max(10_000).default(2000),
});

export type ChatApiConfig = Readonly<z.infer<typeof chatApiEnvSchema>>;

/** Reads and validates the environment once; a bad or missing variable throws a ConfigError naming it. */
export function loadChatApiConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): ChatApiConfig {
  return loadConfig(chatApiEnvSchema, environment);
}
