import { createServer } from 'node:http';
import {
  attachInternalChannel,
  createMembershipDirectory,
  createMetrics,
  createRedisTriggerLogWriter,
  type TriggerLogWriter,
  runService,
  startService,
  type RunningService,
  type StartOptions,
} from '@cohort/common';
import { loadChatApiConfig, type ChatApiConfig } from './config';
import { createChatApiApp } from './app';
import { openRepositories } from './data/repositories';
import { createChatEventPublisher } from './events/chat-event-publisher';
import { createAssistantTriggers } from './events/assistant-triggers';
import { createSendLimiter } from './limits/send-limiter';
import { createAuthUserDirectory } from './clients/auth-users.client';
import { createMembershipCache } from './domain/membership-cache';
import { forgetOnMembershipEvents } from './events/membership-invalidation';
import { createStoredMessagesRecorder } from './use-cases/record-stored-messages';

export type StartChatApiOptions = StartOptions<ChatApiConfig> & {
  /** Where the assistant's triggers go when no Redis is configured (embedded: the in-process log). */
  triggerLog?: TriggerLogWriter;
};

/** Composition root: models and their indexes, the event publisher, the user directory; then listens. */
export function startChatApi(options: StartChatApiOptions): Promise<RunningService> {
  const { config } = options;
  return startService(
    // Auto-pipelining sends the limiter calls and publishes of concurrent sends in one write.
    { service: 'chat-api', ...options, redisOptions: { enableAutoPipelining: true } },
    async (runtime) => {
      const { logger: log } = runtime;
      const metrics = createMetrics('chat-api');
      const connection = await runtime.mongo(config.MONGO_URL);
      // The unique indexes carry the ordering and idempotency guarantees: they exist before the first request.
      const repos = await openRepositories(connection);
      const redis = runtime.redis();
      // Bookkeeping is written behind the sends: what is still pending is written before the store closes.
      const recorder = createStoredMessagesRecorder({
        repos,
        logger: log,
        windowMs: config.BOOKKEEPING_WINDOW_MS,
        registry: metrics.registry,
      });
      runtime.onClose('pending-bookkeeping', () => recorder.flush());

      const events = createChatEventPublisher(runtime.bus(), log, metrics.registry);
      runtime.onClose('pending-publishes', () => events.flush());
      const triggerLog = options.triggerLog ?? (redis ? createRedisTriggerLogWriter(redis) : undefined);
      const triggers = createAssistantTriggers(triggerLog, log, metrics.registry);
      runtime.onClose('pending-triggers', () => triggers.flush());
      const users = createAuthUserDirectory({ baseUrl: config.AUTH_URL, logger: log });
      runtime.onClose('auth-client', () => users.close());
      const recentMembers = createMembershipCache({
        ttlMs: config.MEMBERSHIP_CACHE_MS,
        feed: { receiving: () => runtime.busReceiving(), generation: () => runtime.busGeneration() },
      });
      const stopForgetting = await forgetOnMembershipEvents(runtime.bus(), recentMembers);
      runtime.onClose('membership-invalidation', stopForgetting);

      // Handshakes of returning users read their memberships here (realtime); lookups fill it, changes clear it.
      const directory = redis
        ? createMembershipDirectory({
            redis,
            logger: log,
            ttlMs: config.MEMBERSHIP_DIRECTORY_TTL_SECONDS * 1000,
          })
        : undefined;
      if (directory) {
        // This process may replace one that died with a change not recorded there (membership-directory.ts).
        void directory.invalidateAll();
        runtime.onClose('membership-directory', () => directory.close());
      }

      const { app, channelRoutes } = createChatApiApp({
        config,
        logger: log,
        metrics,
        repos,
        users,
        events,
        triggers,
        ...(redis ? { redis } : {}),
        sendLimiter: createSendLimiter({
          limit: config.SEND_RATE_LIMIT,
          logger: log,
          ...(redis ? { redis } : {}),
        }),
        readiness: runtime.readiness,
        recentMembers,
        recorder,
        ...(directory ? { directory } : {}),
      });
      const server = createServer(app);
      // Realtime's batches arrive over its internal channel (a WebSocket on this port) as well as over HTTP.
      const channel = attachInternalChannel(server, {
        routes: channelRoutes,
        logger: log,
        registry: metrics.registry,
      });
      return {
        port: await runtime.listen(server, {
          port: config.PORT,
          host: config.HOST,
          onDrainStart: () => channel.drain(),
        }),
      };
    },
  );
}

if (require.main === module) runService('chat-api', loadChatApiConfig, startChatApi);
