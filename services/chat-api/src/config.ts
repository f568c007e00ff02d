import { z } from 'zod';
import {
  baseEnvSchema,
  env,
  loadConfig as loadValidatedConfig,
  type createIdentityVerifier,
} from '@cohort/common';

type JSONWebKeySet = Parameters<typeof createIdentityVerifier>[0];

/** Unset and empty are the same thing for optional variables (`REDIS_URL=` in a compose file means "none"). */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
const jwksSchema = z.object({ keys: z.array(jwkSchema).min(1, 'must hold at least one key') });

/** `INTERNAL_JWKS`: the forwarders' public keys as a JSON JWKS (DESIGN.md §3). */
const internalJwks = z
  .string()
  .min(1)
  .transform((raw, ctx): unknown => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON JWKS ({"keys":[…]})' });
      return z.NEVER;
    }
  })
  .pipe(jwksSchema)
  .transform((jwks) => jwks as JSONWebKeySet);

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
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// connection string'),
  REDIS_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// URL')
      .optional(),
  ),
  INTERNAL_JWKS: internalJwks,
  AUTH_URL: env.url().transform((u) => u.replace(/\/+$/, '')),
  SEND_RATE_LIMIT: z.preprocess(
    blankToUndefined,
    sendRateLimit.default({ points: 120, durationSeconds: 10 }),
  ),
  /** How long a sender's confirmed membership is trusted by the send path (lib/membership-cache.ts); 0 = off. */
  MEMBERSHIP_CACHE_MS: z.coerce.number().int().min(0).max(10_000).default(2000),
});

export type ChatApiConfig = Readonly<z.infer<typeof chatApiEnvSchema>>;

/** Reads and validates the environment once; a bad or missing variable throws a ConfigError naming it. */
export function loadConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): ChatApiConfig {
  return loadValidatedConfig(chatApiEnvSchema, environment);
}
