import { createServer } from 'node:http';
import type { Redis } from 'ioredis';
import {
  closeHttpServer,
  closeRedis,
  connectMongo,
  createLogger,
  createMemoryBus,
  createMetrics,
  createRedisBus,
  createRedisClient,
  createShutdown,
  listen,
  pingMongo,
  pingRedis,
  type EventBus,
  type Logger,
  type ReadinessCheck,
  type ShutdownResult,
  type ShutdownStep,
  runService,
} from '@cohort/common';
import { loadConfig, type ChatApiConfig } from './config';
import { createChatApiApp } from './app';
import { chatModel } from './data/chat.schema';
import { membershipModel } from './data/membership.schema';
import { messageModel } from './data/message.schema';
import { createChatRepository } from './data/chat.repository';
import { createMembershipRepository } from './data/membership.repository';
import { createMessageRepository } from './data/message.repository';
import { createChatEventPublisher } from './lib/chat-events';
import { createSendLimiter } from './lib/send-limiter';
import { createAuthUserDirectory } from './lib/user-directory';

export interface StartChatApiOptions {
  config: ChatApiConfig;
  logger?: Logger;
  /** An injected bus (the embedded launcher shares one among services); else Redis with REDIS_URL, memory without. */
  bus?: EventBus;
}

export interface RunningChatApi {
  port: number;
  close(): Promise<void>;
  /** `close` with its outcome, for process handlers. */
  shutdown(reason: string): Promise<ShutdownResult>;
}

/** Composition root: connects Mongo (and Redis), builds the app, listens. */
export async function startChatApi({
  config,
  logger: givenLogger,
  bus: injectedBus,
}: StartChatApiOptions): Promise<RunningChatApi> {
  const logger = givenLogger ?? createLogger({ service: 'chat-api', level: config.LOG_LEVEL });
  const steps: ShutdownStep[] = [];
  const shutdown = createShutdown({ logger, steps });
  // Steps close in reverse order of opening; prepend as things open so a failed start closes what it opened.
  const onClose = (name: string, close: () => Promise<void>) => steps.unshift({ name, close });

  try {
    const metrics = createMetrics('chat-api');
    const readiness: Record<string, ReadinessCheck> = {};

    const connection = await connectMongo({ url: config.MONGO_URL, logger });
    onClose('mongo', () => connection.close());
    readiness.mongo = () => pingMongo(connection);
    const models = {
      chats: chatModel(connection),
      memberships: membershipModel(connection),
      messages: messageModel(connection),
    };
    // The unique indexes carry the ordering and idempotency guarantees: they exist before the first request.
    await Promise.all(Object.values(models).map((model) => model.init()));
    const repos = {
      chats: createChatRepository(models.chats),
      memberships: createMembershipRepository(models.memberships),
      messages: createMessageRepository(models.messages),
    };

    let redis: Redis | undefined;
    if (config.REDIS_URL) {
      // Auto-pipelining sends the limiter calls and publishes of concurrent sends in one write.
      const client = createRedisClient({
        url: config.REDIS_URL,
        logger,
        name: 'chat-api',
        options: { enableAutoPipelining: true },
      });
      redis = client;
      onClose('redis', () => closeRedis(client));
      readiness.redis = () => pingRedis(client);
    }
    let bus = injectedBus;
    if (!bus) {
      if (redis) {
        // chat-api only publishes; the subscriber connection is never opened unless something subscribes.
        const subscriber = createRedisClient({
          url: config.REDIS_URL ?? '',
          logger,
          name: 'chat-api-sub',
          options: { lazyConnect: true },
        });
        onClose('redis-subscriber', () => closeRedis(subscriber));
        bus = createRedisBus({ publisher: redis, subscriber, logger });
      } else {
        bus = createMemoryBus();
      }
      const ownBus = bus;
      onClose('bus', () => ownBus.close());
    }
    const events = createChatEventPublisher(bus, logger, metrics.registry);
    onClose('pending-publishes', () => events.flush());

    const users = createAuthUserDirectory({ baseUrl: config.AUTH_URL, logger });
    onClose('auth-client', () => users.close());

    const app = createChatApiApp({
      config,
      logger,
      metrics,
      repos,
      users,
      events,
      sendLimiter: createSendLimiter({ limit: config.SEND_RATE_LIMIT, logger, ...(redis ? { redis } : {}) }),
      readiness,
    });
    const server = createServer(app);
    // Longer than the keep-alive of the proxies in front (gateway, realtime), so they never reuse a closing socket.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    const port = await listen(server, config.PORT);
    onClose('http', () => closeHttpServer(server));

    return {
      port,
      shutdown,
      async close() {
        await shutdown('close');
      },
    };
  } catch (err) {
    await shutdown('start failed');
    throw err;
  }
}

if (require.main === module) {
  runService({
    service: 'chat-api',
    loadConfig,
    logLevel: (config) => config.LOG_LEVEL,
    start: (config, logger) => startChatApi({ config, logger }),
  });
}
