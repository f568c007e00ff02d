import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { baseEnvSchema, configLoader, env } from '@cohort/common';

const { optional } = env;

export const authEnvSchema = baseEnvSchema.extend({
  PORT: env.port(3001),
  MONGO_URL: env.mongoUrl(),
  /** Unset: in-process denylist, bus and rate-limit store (embedded mode). */
  REDIS_URL: env.redisUrl(),
  /** PKCS8 PEM, EC P-256: signs the access JWTs (ES256). */
  JWT_PRIVATE_KEY: env.pem(),
  INTERNAL_JWKS: env.jwks(),
  ALLOWED_ORIGINS: env.list(),
  /**
   * chat-api, asked which users share a chat with a searcher (their emails are shown). Unset: search shows
   * no emails except an exact-email match (fail closed).
   */
  CHAT_API_URL: optional(env.serviceUrl()),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  /** Worker threads hashing passwords; 0 hashes on the main thread (for comparison benchmarks only). */
  PASSWORD_HASH_THREADS: z.coerce.number().int().min(0).max(64).default(Math.max(1, availableParallelism())),
  /**
   * Password checks (login) and hashes (register) one client address may have running or waiting at once;
   * past it, 429. Turns go round the addresses, so this bounds a client's queue, not its share of the pool.
   */
  PASSWORD_CHECKS_PER_ADDRESS: env.positiveInt(12),
  /** Password checks at one account at once, from all addresses together (not below the 5 guesses the limiter allows). */
  PASSWORD_CHECKS_PER_ACCOUNT: env.positiveInt(5),
  /** Register + login requests allowed per client IP in 15 minutes. */
  LOGIN_IP_LIMIT: env.positiveInt(100),
  /** Failed logins per account in 15 minutes from all addresses together (5 per account and address besides). */
  LOGIN_ACCOUNT_LIMIT: env.positiveInt(50),
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

export type AuthConfig = Readonly<z.infer<typeof authEnvSchema>>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadAuthConfig = configLoader(authEnvSchema);
