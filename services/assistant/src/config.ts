import { hostname } from 'node:os';
import { z } from 'zod';
import { baseEnvSchema, configLoader, env } from '@cohort/common';

const { optional } = env;

export const assistantEnvSchema = baseEnvSchema
  .extend({
    PORT: env.port(3004),
    /** Names this replica in logs and metrics, and as the holder of trigger partition leases. */
    REPLICA_ID: optional(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only'),
    ).transform((v) => v ?? `${hostname()}-${process.pid}`),
    CHAT_API_URL: env.serviceUrl(),
    /** Optional: display names of the chat's members (auth's `GET /api/users?ids=`); without it, neutral labels. */
    AUTH_URL: optional(env.serviceUrl()),
    /** Unset: in-process trigger log, stream store, budgets and bus (embedded mode). */
    REDIS_URL: env.redisUrl(),
    /** Optional: where embedding vectors are kept (the assistant's own collection); needed for AI_EMBEDDING_MODEL. */
    MONGO_URL: optional(env.mongoUrl()),
    /** The forwarders' public keys: the gateway's signed identity on `/api/*` requests is verified with them. */
    INTERNAL_JWKS: env.jwks(),
    /** Signs the assistant's own forwarded identity (issuer `assistant`) on its calls to chat-api. */
    INTERNAL_SIGNING_KEY: env.pem(),
    /** Any OpenAI-compatible Chat Completions endpoint (…/v1). Unset: Ollama probe (AI_PROBE_OLLAMA) or disabled. */
    AI_BASE_URL: optional(env.url()),
    AI_API_KEY: optional(z.string().min(1)),
    AI_MODEL: optional(z.string().trim().min(1).max(200)),
    AI_EMBEDDING_MODEL: optional(z.string().trim().min(1).max(200)),
    AI_DAILY_TOKENS_PER_USER: env.positiveInt(200_000),
    AI_MAX_CONTEXT_TOKENS: z.coerce.number().int().min(1000).default(8000),
    /** Tokens kept for the answer within the context (also its max_tokens; 16,000 characters at most anyway). */
    AI_MAX_ANSWER_TOKENS: z.coerce.number().int().min(16).default(1500),
    /** With no AI_BASE_URL, look for a local Ollama at 127.0.0.1:11434 (the embedded launcher sets it). */
    AI_PROBE_OLLAMA: env.bool(false),
    AI_OLLAMA_URL: env.serviceUrl().default('http://127.0.0.1:11434'),
    AI_FIRST_TOKEN_TIMEOUT_MS: env.positiveInt(30_000),
    AI_IDLE_TIMEOUT_MS: env.positiveInt(30_000),
    /** Bound on one answer, retries included. */
    AI_DEADLINE_MS: env.positiveInt(180_000),
    /** Bound on the retries of a provider call that failed with 429/5xx or a connection error. */
    AI_RETRY_BUDGET_MS: env.positiveInt(20_000),
    /** Deltas are gathered for this long before one `ai:delta` goes out (a long answer is tens of events). */
    AI_COALESCE_MS: z.coerce.number().int().min(0).default(50),
    /** Consecutive failed calls that open the circuit, and how long it stays open before a trial call. */
    AI_BREAKER_FAILURES: env.positiveInt(5),
    AI_BREAKER_RESET_MS: env.positiveInt(30_000),
    /** A dead replica's trigger partitions are taken over after this (its lease expires). */
    AI_LEASE_MS: z.coerce.number().int().min(500).default(6_000),
    /** Triggers answered at the same time by one replica (different chats). */
    AI_MAX_IN_FLIGHT: env.positiveInt(200),
    /** Catch-me-up requests per user. */
    SUMMARY_RATE_LIMIT: env.rateLimit('summaries', { points: 10, durationSeconds: 60 }),
    CHAT_API_TIMEOUT_MS: env.positiveInt(10_000),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(10_000),
  })
  .refine((c) => c.AI_BASE_URL === undefined || c.AI_MODEL !== undefined, {
    message: 'AI_MODEL is required with AI_BASE_URL (the model name the endpoint serves)',
    path: ['AI_MODEL'],
  })
  .refine((c) => c.AI_EMBEDDING_MODEL === undefined || c.MONGO_URL !== undefined, {
    message: 'AI_EMBEDDING_MODEL needs MONGO_URL (where the vectors are kept)',
    path: ['MONGO_URL'],
  });

export type AssistantConfig = z.infer<typeof assistantEnvSchema>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadAssistantConfig = configLoader(assistantEnvSchema);
