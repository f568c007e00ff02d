import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Redis } from 'ioredis';
import {
  closeHttpServer,
  closeRedis,
  connectMongo,
  createIdentityVerifier,
  createLogger,
  createMemoryBus,
  createMemoryDenylist,
  createMetrics,
  createRedisBus,
  createRedisClient,
  createRedisDenylist,
  createShutdown,
  importSigningKey,
  listen,
  pingMongo,
  pingRedis,
  type EventBus,
  type Logger,
  type ReadinessCheck,
  type ShutdownStep,
  type TokenDenylist,
  runService,
} from '@cohort/common';
import { loadAuthConfig, type AuthConfig } from './config';
import { createAuthApp } from './app';
import { createUserRepository } from './data/user.repository';
import { createSessionRepository } from './data/session.repository';
import { createPasswordHasher, type PasswordHasher } from './passwords/password-hasher';
import { createAccessTokenIssuer } from './tokens/access-token-issuer';
import { createLoginLimiter } from './limits/login-limiter';
import type { AuthContext } from './use-cases/deps';

export interface StartAuthOptions {
  config: AuthConfig;
  logger?: Logger;
  /** Injected when services share one process (embedded `npm start`); else Redis or in-process by REDIS_URL. */
  bus?: EventBus;
  denylist?: TokenDenylist;
  /** Replaces the worker-pool hasher (benchmarks). */
  passwords?: PasswordHasher;
}

export interface RunningAuth {
  port: number;
  close(): Promise<void>;
}

/** Composition root: connects Mongo (and Redis when configured), builds the app and listens. */
export async function startAuth({
  config,
  logger: givenLogger,
  bus: givenBus,
  denylist: givenDenylist,
  passwords: givenPasswords,
}: StartAuthOptions): Promise<RunningAuth> {
  const logger = givenLogger ?? createLogger({ service: 'auth', level: config.LOG_LEVEL });
  const steps: ShutdownStep[] = [];
  // Everything opened so far is closed again if a later step of the start fails.
  const cleanup: ShutdownStep[] = [];
  try {
    const mongo = await connectMongo({ url: config.MONGO_URL, logger });
    cleanup.unshift({ name: 'mongo', close: () => mongo.close() });

    let redis: Redis | undefined;
    let bus = givenBus;
    const readiness: Record<string, ReadinessCheck> = { mongo: () => pingMongo(mongo) };
    if (config.REDIS_URL) {
      const client = createRedisClient({ url: config.REDIS_URL, logger, name: 'auth' });
      redis = client;
      cleanup.unshift({ name: 'redis', close: () => closeRedis(client) });
      readiness.redis = () => pingRedis(client);
      // Connected before serving, so the first logins are counted in Redis (an outage only degrades: logged).
      await pingRedis(client).catch((err: unknown) =>
        logger.warn({ err }, 'redis unreachable at start; limits stay in-process until it is back'),
      );
      if (!bus) {
        // auth only publishes; the subscriber connection is required by the bus but never opened.
        const subscriber = createRedisClient({
          url: config.REDIS_URL,
          logger,
          name: 'auth-sub',
          options: { lazyConnect: true },
        });
        const redisBus = createRedisBus({ publisher: client, subscriber, logger });
        bus = redisBus;
        cleanup.unshift({ name: 'redis-sub', close: () => closeRedis(subscriber) });
        cleanup.unshift({ name: 'bus', close: () => redisBus.close() });
      }
    }
    if (!bus) {
      const memoryBus = createMemoryBus();
      bus = memoryBus;
      cleanup.unshift({ name: 'bus', close: () => memoryBus.close() });
    }
    const denylist = givenDenylist ?? (redis ? createRedisDenylist(redis) : createMemoryDenylist());

    const users = createUserRepository(mongo);
    const sessions = createSessionRepository(mongo);
    // The unique email index must exist before the first registration, or two could share an email.
    await Promise.all([users.ensureIndexes(), sessions.ensureIndexes()]);

    const passwords =
      givenPasswords ??
      createPasswordHasher({ cost: config.BCRYPT_COST, threads: config.PASSWORD_HASH_THREADS });
    if (!givenPasswords) cleanup.unshift({ name: 'password-workers', close: () => passwords.close() });
    const dummyHash = passwords.hash(randomBytes(24).toString('base64url'));
    dummyHash.catch((err: unknown) => logger.error({ err }, 'could not prepare the dummy password hash'));

    const signingKey = await importSigningKey(config.JWT_PRIVATE_KEY, 'ES256');
    const ctx: AuthContext = {
      users,
      sessions,
      passwords,
      tokens: createAccessTokenIssuer(signingKey, config.ACCESS_TOKEN_TTL_SECONDS),
      limiter: createLoginLimiter({ ipLimit: config.LOGIN_IP_LIMIT, ...(redis ? { redis } : {}) }),
      denylist,
      bus,
      logger,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: config.REFRESH_REUSE_GRACE_SECONDS,
      dummyHash,
    };
    const app = createAuthApp({
      ctx,
      metrics: createMetrics('auth'),
      verifyIdentity: createIdentityVerifier(config.INTERNAL_JWKS),
      allowedOrigins: config.ALLOWED_ORIGINS,
      production: config.NODE_ENV === 'production',
      readiness,
    });

    const server = createServer(app);
    const port = await listen(server, config.PORT);
    steps.push({ name: 'http', close: () => closeHttpServer(server) }, ...cleanup);
    const shutdown = createShutdown({ logger, steps });
    return {
      port,
      async close() {
        const result = await shutdown('close');
        if (!result.ok)
          throw new Error(`auth shutdown incomplete: ${result.failed.join(', ') || 'timed out'}`);
      },
    };
  } catch (err) {
    await createShutdown({ logger, steps: cleanup })('start failed');
    throw err;
  }
}

if (require.main === module) {
  runService({
    service: 'auth',
    loadConfig: loadAuthConfig,
    logLevel: (config) => config.LOG_LEVEL,
    start: (config, logger) => startAuth({ config, logger }),
  });
}
