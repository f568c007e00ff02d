import { baseEnvSchema, configLoader, env } from '@cohort/common';
import { z } from 'zod';

const { optional } = env;

export const gatewayEnvSchema = baseEnvSchema
  .extend({
    PORT: env.port(3000),
    /** The gateway is the edge in embedded mode, so it listens beyond loopback unless told otherwise. */
    HOST: env.host('0.0.0.0'),
    /**
     * A proxy (the cluster's nginx) is in front and writes the client's address in X-Forwarded-For: believed
     * from a local peer, one hop deep. Unset: the gateway is the edge and the socket's peer is the client.
     */
    TRUST_PROXY: env.bool(false),
    AUTH_URL: env.serviceUrl(),
    CHAT_API_URL: env.serviceUrl(),
    /** The assistant service (DESIGN §7): `/api/assistant` and `/api/chats/:chatId/summary`. Unset: those answer 503. */
    ASSISTANT_URL: optional(env.serviceUrl()),
    /** Set in the embedded mode: `/socket.io` (websocket upgrades included) is proxied to it. */
    REALTIME_URL: optional(env.serviceUrl()),
    /** Directory of the built web client, served with an SPA fallback to index.html. */
    WEB_ROOT: optional(z.string().min(1)),
    /** Auth's JWKS; defaults to `${AUTH_URL}/api/auth/jwks.json` unless JWT_PUBLIC_KEY is given. */
    JWKS_URL: optional(env.url()),
    JWT_PUBLIC_KEY: optional(env.pem()),
    INTERNAL_SIGNING_KEY: env.pem(),
    REDIS_URL: env.redisUrl(),
    ALLOWED_ORIGINS: env.list(),
    UPSTREAM_TIMEOUT_MS: env.positiveInt(10_000),
    /**
     * How long a request waits out an upstream that refuses or does not answer connections (a restart on the same
     * address) before 502 `upstream_unavailable`; never past UPSTREAM_TIMEOUT_MS. A service started from source
     * here takes 1–2 s (up to 3.5 s on a loaded machine): 4 s lets a restart pass unseen, the deadline still holds.
     */
    UPSTREAM_RETRY_BUDGET_MS: env.positiveInt(4_000),
    /** Largest request body forwarded upstream: the services' own JSON limit (createBaseApp's 64 KB), enforced here first. */
    BODY_LIMIT_BYTES: env.positiveInt(64 * 1024),
  })
  // Auth's JWKS is the default key source unless a public key is given inline.
  .transform((c) =>
    c.JWT_PUBLIC_KEY || c.JWKS_URL ? c : { ...c, JWKS_URL: `${c.AUTH_URL}/api/auth/jwks.json` },
  )
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

export type GatewayConfig = Readonly<z.infer<typeof gatewayEnvSchema>>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadGatewayConfig = configLoader(gatewayEnvSchema);
