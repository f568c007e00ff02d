import { createServer } from 'node:http';
import {
  ASSISTANT_EMAIL,
  ASSISTANT_FULL_NAME,
  ASSISTANT_USER_ID,
  createIdentityVerifier,
  createMetrics,
  importSigningKey,
  pingRedis,
  runService,
  startService,
  type RunningService,
  type StartOptions,
} from '@cohort/common';
import { loadAuthConfig, type AuthConfig } from './config';
import { createAuthApp } from './app';
import { createUserRepository } from './data/user.repository';
import { createSessionRepository } from './data/session.repository';
import type { PasswordHasher } from './passwords/password-hasher';
import { openPasswordChecks } from './passwords/password-checks';
import { createAccessTokenIssuer } from './tokens/access-token-issuer';
import { createLoginLimiter } from './limits/login-limiter';
import { createChatApiClient } from './clients/chat-api.client';
import type { AuthContext } from './use-cases/deps';

export interface StartAuthOptions extends StartOptions<AuthConfig> {
  /** Replaces the worker-pool hasher (benchmarks). */
  passwords?: PasswordHasher;
  /**
   * chat-api's base URL when it is only known after auth started (embedded mode: each needs the other's
   * address); read at each call, and takes precedence over CHAT_API_URL.
   */
  chatApiUrl?: () => string | undefined;
}

/** Composition root: users, sessions, password workers, token issuer, limits; then listens. */
export function startAuth({
  passwords: givenPasswords,
  chatApiUrl,
  ...options
}: StartAuthOptions): Promise<RunningService> {
  const { config } = options;
  return startService({ service: 'auth', ...options }, async (runtime) => {
    const mongo = await runtime.mongo(config.MONGO_URL);
    const redis = runtime.redis();
    // Connected before serving, so the first logins are counted in Redis (an outage only degrades: logged).
    if (redis)
      await pingRedis(redis).catch((err: unknown) =>
        runtime.logger.warn({ err }, 'redis unreachable at start; limits stay in-process until it is back'),
      );

    const users = createUserRepository(mongo);
    const sessions = createSessionRepository(mongo);
    // The unique email index must exist before the first registration, or two could share an email.
    await Promise.all([users.ensureIndexes(), sessions.ensureIndexes()]);
    // The assistant is a user like any member (DESIGN §7): its record exists before the first request.
    await users.ensurePasswordless(
      ASSISTANT_USER_ID,
      { email: ASSISTANT_EMAIL, fullName: ASSISTANT_FULL_NAME },
      new Date(),
    );

    const sharedChats = createChatApiClient({
      baseUrl: chatApiUrl ?? (() => config.CHAT_API_URL),
      logger: runtime.logger,
    });
    runtime.onClose('chat-api client', () => sharedChats.close());

    const ctx: AuthContext = {
      users,
      sessions,
      ...openPasswordChecks(config, runtime, givenPasswords),
      sharedChats,
      tokens: createAccessTokenIssuer(
        await importSigningKey(config.JWT_PRIVATE_KEY, 'ES256'),
        config.ACCESS_TOKEN_TTL_SECONDS,
      ),
      limiter: createLoginLimiter({
        ipLimit: config.LOGIN_IP_LIMIT,
        failedAccountLimit: config.LOGIN_ACCOUNT_LIMIT,
        ...(redis ? { redis } : {}),
      }),
      denylist: runtime.denylist(),
      bus: runtime.bus(),
      logger: runtime.logger,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: config.REFRESH_REUSE_GRACE_SECONDS,
    };
    const app = createAuthApp({
      ctx,
      metrics: createMetrics('auth'),
      verifyIdentity: createIdentityVerifier(config.INTERNAL_JWKS),
      allowedOrigins: config.ALLOWED_ORIGINS,
      production: config.NODE_ENV === 'production',
      readiness: runtime.readiness,
    });
    return { port: await runtime.listen(createServer(app), { port: config.PORT, host: config.HOST }) };
  });
}

if (require.main === module) runService('auth', loadAuthConfig, startAuth);
