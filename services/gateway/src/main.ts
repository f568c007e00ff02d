import { createServer, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import {
  closeHttpServer,
  closeRedis,
  createAccessTokenVerifier,
  createCachedVerifier,
  createIdentitySigner,
  createLogger,
  createMemoryDenylist,
  createRedisClient,
  createRedisDenylist,
  createShutdown,
  importSigningKey,
  listen,
  pingRedis,
  publicJwkFromPem,
  type Logger,
  type ReadinessCheck,
  type ShutdownStep,
  type TokenDenylist,
  runService,
} from '@cohort/common';
import { createGatewayApp } from './app';
import { loadGatewayConfig, type GatewayConfig } from './config';

export interface StartGatewayOptions {
  config: GatewayConfig;
  logger?: Logger;
  /** Embedded mode shares auth's in-memory denylist; otherwise Redis when REDIS_URL is set, else in-memory. */
  denylist?: TokenDenylist;
  /** Host to bind (default all interfaces). */
  host?: string;
}

export interface RunningGateway {
  port: number;
  server: Server;
  /** Graceful: stop accepting, let in-flight requests finish (bounded), end websockets, close Redis. */
  close(): Promise<void>;
}

/** How long in-flight requests (long-polls included) may take to finish once shutdown begins. */
const DRAIN_MS = 5_000;

/** Composition root: keys, verifier, denylist, app, HTTP server with websocket upgrades. Does not log `listening`. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'gateway', level: config.logLevel });

  let redis: Redis | undefined;
  let denylist = options.denylist;
  const readiness: Record<string, ReadinessCheck> = {};
  if (!denylist && config.redisUrl) {
    const client = createRedisClient({ url: config.redisUrl, logger, name: 'gateway-denylist' });
    redis = client;
    denylist = createRedisDenylist(client);
    readiness.redis = () => pingRedis(client);
  }
  denylist ??= createMemoryDenylist();

  const signingKey = await importSigningKey(config.internalSigningKey, 'EdDSA');
  const jwks = config.jwtPublicKey
    ? { keys: [await publicJwkFromPem(config.jwtPublicKey, 'ES256')] }
    : new URL(config.jwksUrl ?? `${config.authUrl}/api/auth/jwks.json`);

  const gateway = createGatewayApp({
    config,
    logger,
    verifyAccessToken: createCachedVerifier({ verify: createAccessTokenVerifier({ jwks }), denylist }),
    identitySigner: createIdentitySigner(signingKey, 'gateway'),
    readiness,
  });
  const server = createServer(gateway.app);
  server.on('upgrade', gateway.handleUpgrade);
  // Longer than nginx's upstream keepalive_timeout (60 s) so the edge, not us, closes idle connections.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  let port: number;
  try {
    port = await listen(server, config.port, options.host);
  } catch (err) {
    gateway.close();
    if (redis) await closeRedis(redis);
    throw err;
  }

  const steps: ShutdownStep[] = [
    {
      name: 'http',
      close: async () => {
        const closed = closeHttpServer(server);
        gateway.close();
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          closed.then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), DRAIN_MS);
          }),
        ]);
        clearTimeout(timer);
        if (!drained) {
          logger.warn({ drainMs: DRAIN_MS }, 'closing connections still open after the drain period');
          server.closeAllConnections();
          await closed;
        }
      },
    },
  ];
  if (redis) {
    const client = redis;
    steps.push({ name: 'redis', close: () => closeRedis(client) });
  }
  const shutdown = createShutdown({ logger, steps });
  return {
    port,
    server,
    async close() {
      const result = await shutdown('close');
      if (!result.ok)
        throw new Error(`gateway shutdown incomplete: ${result.failed.join(', ') || 'timed out'}`);
    },
  };
}

if (require.main === module) {
  runService({
    service: 'gateway',
    loadConfig: loadGatewayConfig,
    logLevel: (config) => config.logLevel,
    start: (config, logger) => startGateway({ config, logger }),
  });
}
