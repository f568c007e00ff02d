import { availableParallelism } from 'node:os';
import type { JSONWebKeySet, JWK } from 'jose';
import { z } from 'zod';
import { baseEnvSchema, env, loadConfig } from '@cohort/common';

const jwkSchema = z.looseObject({ kty: z.string().min(1), kid: z.string().min(1).optional() });

/** `INTERNAL_JWKS`: the JSON public key set of the services allowed to forward identities. */
const internalJwksSchema = z
  .string()
  .min(1)
  .transform((raw, ctx): unknown => {
    try {
      return JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON Web Key Set ({"keys":[…]})' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ keys: z.array(jwkSchema).min(1, 'must list at least one key') }))
  .transform((set): JSONWebKeySet => ({ keys: set.keys.map((key): JWK => ({ ...key })) }));

export const authConfigSchema = baseEnvSchema.extend({
  PORT: env.port(3001),
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// connection string'),
  /** Unset: in-process denylist, bus and rate-limit store (embedded mode). */
  REDIS_URL: env.optionalUrl(),
  /** PKCS8 PEM, EC P-256: signs the access JWTs (ES256). */
  JWT_PRIVATE_KEY: env.pem(),
  INTERNAL_JWKS: internalJwksSchema,
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
