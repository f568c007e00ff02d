import { createServer } from 'node:http';
import {
  createBudgetLimiter,
  createForwardingSigner,
  createMemoryAiStreamStore,
  createMemoryTriggerLog,
  createRedisAiStreamStore,
  createRedisTriggerConsumer,
  runService,
  startService,
  type AiStreamStore,
  type RunningService,
  type StartOptions,
  type TriggerConsumer,
} from '@cohort/common';
import { createAssistantApp } from './app';
import { createChatApiClient } from './clients/chat-api.client';
import { createUserNames } from './clients/user-names.client';
import { loadAssistantConfig, type AssistantConfig } from './config';
import { createMemoryTokenBudget, createRedisTokenBudget } from './limits/token-budget';
import { createEmbeddingRecall, embeddingModel } from './memory/embedding-recall';
import { createLexicalRecall, type Recall } from './memory/recall';
import { createAssistantMetrics } from './metrics';
import { createOpenAiProvider, type ModelProvider } from './provider/model-provider';
import { resolveModelEndpoint } from './provider/resolve-model';
import { createAnswerPipeline, MAX_GENERATED_CHARS } from './work/answer-pipeline';
import { listenForStops } from './work/stop-requests';
import { createMemoryTriggerStreams, createRedisTriggerStreams } from './work/trigger-streams';

/** How long a closing replica lets answers being generated finish before leaving them to another replica. */
const ANSWER_GRACE_MS = 3_000;

export type StartAssistantOptions = StartOptions<Readonly<AssistantConfig>> & {
  /** The in-process trigger log chat-api appends to (embedded); without it and without Redis, one of its own. */
  triggerLog?: TriggerConsumer;
  /** The stream store realtime reads for `ai:resume` (embedded: one memory store shared by both). */
  streamStore?: AiStreamStore;
};

export interface RunningAssistant extends RunningService {
  replicaId: string;
  /** The model answering, or null (disabled). */
  model: string | null;
}

/**
 * Composition root: the model endpoint (configured, a local Ollama, or none), chat-api client, stream store,
 * budgets, recall, the trigger consumer feeding the answer pipeline, and the HTTP routes; then listens.
 */
export function startAssistant(options: StartAssistantOptions): Promise<RunningAssistant> {
  const { config } = options;
  return startService(
    {
      service: 'assistant',
      ...options,
      logBase: { replica: config.REPLICA_ID },
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    },
    async (runtime) => {
      const { logger } = runtime;
      const redis = runtime.redis();
      const metrics = createAssistantMetrics(config.REPLICA_ID);
      const bus = runtime.bus();

      const chatApi = createChatApiClient({
        baseUrl: config.CHAT_API_URL,
        signer: await createForwardingSigner(config.INTERNAL_SIGNING_KEY, 'assistant'),
        timeoutMs: config.CHAT_API_TIMEOUT_MS,
        logger,
      });
      runtime.onClose('chat-api client', () => chatApi.close());
      const names = createUserNames({ baseUrl: config.AUTH_URL, logger });
      runtime.onClose('auth client', () => names.close());

      const endpoint = await resolveModelEndpoint(config, logger);
      const provider: ModelProvider | undefined = endpoint
        ? createOpenAiProvider({
            baseUrl: endpoint.baseUrl,
            apiKey: endpoint.apiKey,
            model: endpoint.model,
            logger,
            firstTokenTimeoutMs: config.AI_FIRST_TOKEN_TIMEOUT_MS,
            idleTimeoutMs: config.AI_IDLE_TIMEOUT_MS,
            deadlineMs: config.AI_DEADLINE_MS,
            retryBudgetMs: config.AI_RETRY_BUDGET_MS,
            maxChars: MAX_GENERATED_CHARS,
            breakerFailures: config.AI_BREAKER_FAILURES,
            breakerResetMs: config.AI_BREAKER_RESET_MS,
          })
        : undefined;

      let recall: Recall = createLexicalRecall();
      if (provider && config.AI_EMBEDDING_MODEL && config.MONGO_URL) {
        const connection = await runtime.mongo(config.MONGO_URL);
        const store = embeddingModel(connection);
        await store.init();
        const embeddingName = config.AI_EMBEDDING_MODEL;
        recall = createEmbeddingRecall({
          model: embeddingName,
          embed: (texts) => provider.embed(embeddingName, texts),
          store,
          fallback: recall,
          logger,
        });
      }

      const budget = redis
        ? createRedisTokenBudget(redis, config.AI_DAILY_TOKENS_PER_USER)
        : createMemoryTokenBudget(config.AI_DAILY_TOKENS_PER_USER);
      const streamStore =
        options.streamStore ?? (redis ? createRedisAiStreamStore(redis) : createMemoryAiStreamStore());
      const stops = await listenForStops(bus, logger);
      runtime.onClose('stop listener', () => stops.unsubscribe());

      let running = true;
      const pipeline = createAnswerPipeline({
        chatApi,
        names,
        provider,
        recall,
        budget,
        streams: redis ? createRedisTriggerStreams(redis) : createMemoryTriggerStreams(),
        streamStore,
        bus,
        stops,
        metrics,
        logger,
        settings: {
          maxContextTokens: config.AI_MAX_CONTEXT_TOKENS,
          maxAnswerTokens: config.AI_MAX_ANSWER_TOKENS,
          coalesceMs: config.AI_COALESCE_MS,
        },
        running: () => running,
      });

      const triggers: TriggerConsumer =
        options.triggerLog ??
        (redis
          ? createRedisTriggerConsumer({
              redis,
              reader: runtime.redisConnection('triggers', { maxRetriesPerRequest: null }),
              replicaId: config.REPLICA_ID,
              logger,
              leaseMs: config.AI_LEASE_MS,
              maxInFlight: config.AI_MAX_IN_FLIGHT,
            })
          : createMemoryTriggerLog(logger));

      const app = createAssistantApp({
        config,
        logger,
        metrics,
        readiness: runtime.readiness,
        routes: {
          chatApi,
          names,
          provider,
          budget,
          metrics,
          logger,
          maxContextTokens: config.AI_MAX_CONTEXT_TOKENS,
          model: () => provider?.model ?? null,
          summaryLimiter: createBudgetLimiter({
            name: 'ai-summary',
            limit: config.SUMMARY_RATE_LIMIT,
            message: 'Too many summaries: try again later',
            logger,
            redis,
          }),
        },
      });
      const port = await runtime.listen(createServer(app), { port: config.PORT, host: config.HOST });

      await triggers.start((delivery) => pipeline.handle(delivery));
      // Closed before the listener and the connections it uses: answers being generated finish (bounded) first.
      runtime.onClose('triggers', async () => {
        running = false;
        // Answers being generated get a moment to finish; then they are cut and left pending (not acknowledged),
        // and the replica taking the partition over finishes each once (ai_interrupted with what was streamed).
        const cut = setTimeout(() => stops.abortAll(), ANSWER_GRACE_MS);
        try {
          await triggers.close();
        } finally {
          clearTimeout(cut);
          stops.abortAll();
        }
      });
      logger.info({ port, model: provider?.model ?? null, recall: recall.kind }, 'started');
      return { port, replicaId: config.REPLICA_ID, model: provider?.model ?? null };
    },
  );
}

if (require.main === module) runService('assistant', loadAssistantConfig, startAssistant);
