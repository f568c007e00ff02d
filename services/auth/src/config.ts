import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { baseEnvSchema, env, loadConfig } from '@cohort/common';

export const authConfigSchema = baseEnvSchema.extend({
  PORT: env.port(3001),
  MONGO_URL: env.mongoUrl(),
  /** Unset: in-process denylist, bus and rate-limit store (embedded mode). */
  REDIS_URL: env.redisUrl(),
  /** PKCS8 PEM, EC P-256: signs the access JWTs (ES256). */
  JWT_PRIVATE_KEY: env.pem(),
  INTERNAL_JWKS: env.jwks(),
  ALLOWED_ORIGINS: env.list(),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  /** Worker threads hashing passwords; 0 hashes on the main thread (for comparison benchmarks only). */
  PASSWORD_HASH_THREADS: z.coerce.number().int().min(0).max(64).default(Math.max(1, availableParallelism())),
  /** Register + login requests allowed per client IP in 15 minutes. */
  LOGIN_IP_LIMIT: env.positiveInt(100),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  /** Absolute lifetime of a session (and its refresh cookie). */
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 86_400),
  /**
   * A refresh token rotated less than this long ago is answered 401 without revoking the session: two tabs
   * refreshing at once must not log the user out. Older rotated tokens are treated as theft.
   */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
});

export type AuthConfig = Readonly<z.infer<typeof authConfigSchema>>;

/** Reads and validates auth's environment once; a bad value throws a ConfigError naming it. */
export function loadAuthConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): AuthConfig {
  return loadConfig(authConfigSchema, source);
}
