import { baseEnvSchema, env, loadConfig } from '@cohort/common';
import { z } from 'zod';

/** An unset variable and an empty one mean the same: launchers often write `REDIS_URL=`. */
const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <S extends z.ZodType>(schema: S) => z.preprocess(blankAsUnset, schema.optional());

export const gatewayEnvSchema = baseEnvSchema
  .extend({
    PORT: env.port(3000),
    AUTH_URL: env.url(),
    CHAT_API_URL: env.url(),
    /** Set in the embedded mode: `/socket.io` (websocket upgrades included) is proxied to it. */
    REALTIME_URL: optional(env.url()),
    /** Directory of the built web client, served with an SPA fallback to index.html. */
    WEB_ROOT: optional(z.string().min(1)),
    /** Auth's JWKS; defaults to `${AUTH_URL}/api/auth/jwks.json` unless JWT_PUBLIC_KEY is given. */
    JWKS_URL: optional(env.url()),
    JWT_PUBLIC_KEY: optional(env.pem()),
    INTERNAL_SIGNING_KEY: env.pem(),
    REDIS_URL: optional(env.url()),
    ALLOWED_ORIGINS: env.list(),
    UPSTREAM_TIMEOUT_MS: env.positiveInt(10_000),
    /** Largest request body forwarded upstream (the services apply their own, smaller JSON limits). */
    BODY_LIMIT_BYTES: env.positiveInt(64 * 1024),
  })
  .superRefine((c, ctx) => {
    for (const origin of c.ALLOWED_ORIGINS) {
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ALLOWED_ORIGINS'],
          message: `"${origin}" is not an origin (scheme://host[:port])`,
        });
      }
    }
  });

export interface GatewayConfig {
  port: number;
  nodeEnv: 'development' | 'production' | 'test';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  authUrl: string;
  chatApiUrl: string;
  realtimeUrl?: string;
  webRoot?: string;
  /** Exactly one of jwksUrl / jwtPublicKey is set. */
  jwksUrl?: string;
  jwtPublicKey?: string;
  internalSigningKey: string;
  redisUrl?: string;
  allowedOrigins: readonly string[];
  upstreamTimeoutMs: number;
  bodyLimitBytes: number;
}

const stripSlash = (url: string) => url.replace(/\/+$/, '');

/** Reads and validates the gateway's environment once; throws ConfigError naming every bad variable. */
export function loadGatewayConfig(
  source: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<GatewayConfig> {
  const e = loadConfig(gatewayEnvSchema, source);
  const authUrl = stripSlash(e.AUTH_URL);
  const config: GatewayConfig = {
    port: e.PORT,
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    authUrl,
    chatApiUrl: stripSlash(e.CHAT_API_URL),
    internalSigningKey: e.INTERNAL_SIGNING_KEY,
    allowedOrigins: e.ALLOWED_ORIGINS,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
  };
  if (e.REALTIME_URL) config.realtimeUrl = stripSlash(e.REALTIME_URL);
  if (e.WEB_ROOT) config.webRoot = e.WEB_ROOT;
  if (e.REDIS_URL) config.redisUrl = e.REDIS_URL;
  if (e.JWT_PUBLIC_KEY && !e.JWKS_URL) config.jwtPublicKey = e.JWT_PUBLIC_KEY;
  else config.jwksUrl = e.JWKS_URL ?? `${authUrl}/api/auth/jwks.json`;
  return Object.freeze(config);
}
