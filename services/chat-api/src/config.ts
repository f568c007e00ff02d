import { z } from 'zod';
import { baseEnvSchema, configLoader, env, type RateLimit } from '@cohort/common';

export type { RateLimit } from '@cohort/common';
export type SendRateLimit = RateLimit;

const { rateLimit } = env;

export const chatApiEnvSchema = baseEnvSchema.extend({
  PORT: env.port(3002),
  MONGO_URL: env.mongoUrl(),
  REDIS_URL: env.redisUrl(),
  INTERNAL_JWKS: env.jwks(),
  AUTH_URL: env.serviceUrl(),
  /** Per-user sends. docs/http-api.md promises at least 60 per 10 s. */
  SEND_RATE_LIMIT: rateLimit('messages', { points: 120, durationSeconds: 10 }),
  // docs/security.md's abuse limits; the defaults are far above what a person does by hand.
  /** Chats a user creates (groups, and direct chats that did not exist yet). */
  CHAT_CREATE_RATE_LIMIT: rateLimit('chats', { points: 30, durationSeconds: 600 }),
  /** Users a user adds to groups: each added member counts, also the `memberIds` of a new group. */
  MEMBER_ADD_RATE_LIMIT: rateLimit('additions', { points: 500, durationSeconds: 600 }),
  /** Message edits by a user. */
  MESSAGE_EDIT_RATE_LIMIT: rateLimit('edits', { points: 60, durationSeconds: 60 }),
  /** Message searches by a user (each is a text-index query over up to SEARCH_CHATS_MAX chats). */
  SEARCH_RATE_LIMIT: rateLimit('searches', { points: 30, durationSeconds: 10 }),
  /**
   * Longest a sender's confirmed membership is trusted by the send path (domain/membership-cache.ts): removals and
   * blocks forget it at once, through any replica (over the bus); this bounds an event lost before Redis. 0 = off.
   */
  MEMBERSHIP_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /**
   * How long a user's memberships answer is kept in Redis for realtime's handshakes (libs/common
   * membership-directory.ts): every change to memberships or blocks removes the users' entries, so this only
   * bounds the memory a user who does not come back holds. 0 = off (every handshake asks chat-api). Cluster only.
   */
  MEMBERSHIP_DIRECTORY_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(3600),
  /**
   * How long a stored message's bookkeeping (its chat's lastSeq and activity, the sender's read marker) waits to be
   * written together with others' (use-cases/record-stored-messages.ts). This process's own reads never see it
   * late; another chat-api replica may, by this much. 0 = written on the next turn, still behind the send.
   */
  BOOKKEEPING_WINDOW_MS: z.coerce.number().int().min(0).max(1_000).default(50),
});

export type ChatApiConfig = Readonly<z.infer<typeof chatApiEnvSchema>>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadChatApiConfig = configLoader(chatApiEnvSchema);
