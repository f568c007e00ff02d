import type { JSONWebKeySet, JWK } from 'jose';
import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates `env` against `schema` once and returns a frozen, typed config. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const value = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
        return value === undefined
          ? `${name}: ${issue.message}`
          : `${name}: ${issue.message} (got "${value}")`;
      }),
    );
  }
  return Object.freeze(parsed.data) as Readonly<z.infer<S>>;
}

const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const jwkSchema = z.looseObject({ kty: z.string().min(1), kid: z.string().min(1).optional() });

/** A service's `load<Service>Config(env = process.env)`: validates its environment schema once, frozen and typed. */
export function configLoader<S extends z.ZodType>(
  schema: S,
): (source?: Readonly<Record<string, string | undefined>>) => Readonly<z.infer<S>> {
  return (source = process.env) => loadConfig(schema, source);
}

/** A budget of `points` actions per `durationSeconds` (per user, per address…). */
export interface RateLimit {
  points: number;
  durationSeconds: number;
}

/** Reusable variable schemas, so every service reads the same names the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  nodeEnv: () => z.enum(['development', 'production', 'test']).default('development'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  url: () => z.url(),
  optionalUrl: () => z.url().optional(),
  /** Comma-separated list, trimmed, empties dropped. */
  list: () =>
    z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x.length > 0),
      ),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  /** Interface to bind: loopback unless the service is the edge or runs in a private network (docs/security.md). */
  host: (fallback = '127.0.0.1') => z.string().trim().min(1).default(fallback),
  /** An optional variable where unset and empty mean the same (`REDIS_URL=` in a compose file means "none"). */
  optional: <S extends z.ZodType>(schema: S) => z.preprocess(blankAsUnset, schema.optional()),
  /** Another service's base URL, trailing slashes removed so paths can be appended. */
  serviceUrl: () => z.url().transform((u) => u.replace(/\/+$/, '')),
  mongoUrl: () => z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// connection string'),
  /** `REDIS_URL`: unset or empty means in-process infrastructure (embedded mode). */
  redisUrl: () =>
    z.preprocess(
      blankAsUnset,
      z
        .string()
        .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// URL')
        .optional(),
    ),
  /** A JSON Web Key Set given inline (`INTERNAL_JWKS`: the public keys of the services that forward identities). */
  jwks: () =>
    z
      .string()
      .min(1)
      .transform((raw, ctx): unknown => {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON Web Key Set ({"keys":[…]})' });
          return z.NEVER;
        }
      })
      .pipe(z.object({ keys: z.array(jwkSchema).min(1, 'must list at least one key') }))
      .transform((set): JSONWebKeySet => ({ keys: set.keys.map((key): JWK => ({ ...key })) })),
  /** A rate limit written `<count>/<seconds>s` (`120/10s`); unset or empty = `fallback`. */
  rateLimit: (what: string, fallback: RateLimit) =>
    z.preprocess(
      blankAsUnset,
      z
        .string()
        .regex(/^\d+\/\d+s$/, `must look like 120/10s (${what} per seconds)`)
        .transform((raw): RateLimit => {
          const [points, duration] = raw.slice(0, -1).split('/');
          return { points: Number(points), durationSeconds: Number(duration) };
        })
        .refine((l) => l.points > 0 && l.durationSeconds > 0, 'both numbers must be positive')
        .default(fallback),
    ),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  /** A PEM key, allowing `\n` escapes so it fits in one environment line. */
  pem: () =>
    z
      .string()
      .min(1)
      .transform((s) => s.replace(/\\n/g, '\n')),
};

/** Variables every service shares (docs/configuration.md). */
export const baseEnvSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  /** At shutdown, how long the service stays up but not ready before it stops accepting (rolling restarts). */
  SHUTDOWN_READY_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
});
