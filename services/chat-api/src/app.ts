import type { Express } from 'express';
import type { Redis } from 'ioredis';
import {
  createBaseApp,
  createIdentityVerifier,
  createOpsRouter,
  errorHandler,
  notFoundHandler,
  requireIdentity,
  type Logger,
  type MembershipDirectory,
  type ChannelRoute,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@cohort/common';
import type { ChatApiConfig } from './config';
import type { ChatEventPublisher } from './events/chat-event-publisher';
import { createAssistantTriggers, type AssistantTriggers } from './events/assistant-triggers';
import { createChatTypeCache } from './domain/chat-type-cache';
import { searchRouter } from './routes/search.routes';
import { createMessageSequencer, type MessageSequencer } from './domain/message-sequencer';
import { createMembershipCache, type MembershipCache } from './domain/membership-cache';
import type { SendLimiter } from './limits/send-limiter';
import type { UserDirectory } from './clients/auth-users.client';
import type { Repositories, UseCaseDeps } from './use-cases/deps';
import { chatsRouter } from './routes/chats.routes';
import { messagesRouter } from './routes/messages.routes';
import type { StoredMessagesRecorder } from './use-cases/record-stored-messages';
import { withRecordedReads } from './use-cases/recorded-reads';
import { withDirectoryInvalidation } from './use-cases/directory-invalidation';
import { batchRouter, internalBatchRoutes, internalRouter } from './routes/internal.routes';
import { contactsRouter } from './routes/contacts.routes';
import { blocksRouter } from './routes/blocks.routes';
import { createActionLimiter } from './use-cases/action-limiter';

export interface ChatApiAppDeps {
  config: Pick<
    ChatApiConfig,
    | 'NODE_ENV'
    | 'INTERNAL_JWKS'
    | 'MEMBERSHIP_CACHE_MS'
    | 'CHAT_CREATE_RATE_LIMIT'
    | 'MEMBER_ADD_RATE_LIMIT'
    | 'MESSAGE_EDIT_RATE_LIMIT'
    | 'SEARCH_RATE_LIMIT'
  >;
  logger: Logger;
  metrics: ServiceMetrics;
  repos: Repositories;
  users: UserDirectory;
  events: ChatEventPublisher;
  /** Where triggers for the assistant go (trigger log); none: nothing is handed to an assistant. */
  triggers?: AssistantTriggers;
  sendLimiter: SendLimiter;
  /** Where the abuse limits (chat creation, member additions, edits) are shared among replicas; in-process without. */
  redis?: Redis | undefined;
  /** One per process: it keeps the per-chat lanes (message-sequencer.ts). Built from `repos` when absent. */
  sequencer?: MessageSequencer;
  /**
   * Writes what stored messages imply (record-stored-messages.ts) behind the sends; the composition root builds it
   * from `BOOKKEEPING_WINDOW_MS` and flushes it at shutdown.
   */
  recorder: StoredMessagesRecorder;
  readiness?: Record<string, ReadinessCheck>;
  /**
   * The send path's membership cache, kept in step with other replicas' removals (main.ts); built from
   * `MEMBERSHIP_CACHE_MS` with this process's forgets only when absent.
   */
  recentMembers?: MembershipCache;
  /**
   * Where realtime's handshakes find a returning user's memberships (Redis; main.ts): lookups fill it, and every
   * change to memberships or blocks goes through it. None (embedded): every handshake asks chat-api.
   */
  directory?: MembershipDirectory;
  now?: () => Date;
}

export interface ChatApiApp {
  app: Express;
  /** What the internal channel serves (main.ts attaches it to the app's server): realtime's batch routes. */
  channelRoutes: Record<string, ChannelRoute>;
}

/** Builds chat-api's Express app and its internal channel's routes from its dependencies (never listens). */
export function createChatApiApp(deps: ChatApiAppDeps): ChatApiApp {
  const { config, logger, metrics, repos } = deps;
  const now = deps.now ?? (() => new Date());
  const limiter = (name: string, limit: ChatApiConfig['CHAT_CREATE_RATE_LIMIT'], message: string) =>
    createActionLimiter({ name, limit, message, logger, redis: deps.redis });
  const { recorder } = deps;
  const recorded = withRecordedReads(repos, recorder);
  const useCases: UseCaseDeps = {
    repos: deps.directory ? withDirectoryInvalidation(recorded, deps.directory) : recorded,
    users: deps.users,
    events: deps.events,
    triggers: deps.triggers ?? createAssistantTriggers(undefined, logger),
    chatTypes: createChatTypeCache(repos.chats),
    sendLimiter: deps.sendLimiter,
    limits: {
      chatCreation: limiter(
        'chat-create',
        config.CHAT_CREATE_RATE_LIMIT,
        'Too many chats created: try again later',
      ),
      memberAdditions: limiter(
        'member-add',
        config.MEMBER_ADD_RATE_LIMIT,
        'Too many members added: try again later',
      ),
      messageEdits: limiter('message-edit', config.MESSAGE_EDIT_RATE_LIMIT, 'Too many edits: slow down'),
      searches: limiter('search', config.SEARCH_RATE_LIMIT, 'Too many searches: slow down'),
    },
    recentMembers: deps.recentMembers ?? createMembershipCache({ ttlMs: config.MEMBERSHIP_CACHE_MS }),
    ...(deps.directory ? { directory: deps.directory } : {}),
    sequencer:
      deps.sequencer ??
      createMessageSequencer({
        messages: repos.messages,
        afterStored: recorder.record,
        now,
      }),
    logger,
    now,
  };
  // A 4,000-character message a client sends with ASCII-only JSON (\uXXXX escapes, as Python's json does
  // by default) is up to 24 KB: the base 16 KB limit would refuse legitimate messages with 413.
  const app = createBaseApp({
    logger,
    metrics,
    production: config.NODE_ENV === 'production',
    bodyLimit: '64kb',
  });
  app.use(
    createOpsRouter({ service: 'chat-api', registry: metrics.registry, readiness: deps.readiness ?? {} }),
  );

  // Every route below needs the gateway's (or realtime's) signed forwarding: x-user-id and friends mean nothing here.
  const verifyIdentity = createIdentityVerifier(config.INTERNAL_JWKS);
  const identified = requireIdentity(verifyIdentity);
  app.use('/api/chats', identified);
  app.use('/api/chats/:chatId/messages', messagesRouter(useCases));
  app.use('/api/chats', chatsRouter(useCases));
  // Only the block routes of /api/users live here (the gateway sends the rest to auth).
  app.use('/api/users', identified, blocksRouter(useCases));
  app.use('/api/search', identified, searchRouter(useCases));
  const channelRoutes = internalBatchRoutes(useCases, verifyIdentity);
  app.use(batchRouter(channelRoutes));
  app.use('/internal/shared-chat-users', identified, contactsRouter(useCases));
  app.use('/internal', identified, internalRouter(useCases));

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return { app, channelRoutes };
}
