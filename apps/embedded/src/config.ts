import { resolve } from 'node:path';
import { z } from 'zod';
import { baseEnvSchema, configLoader, env } from '@cohort/common';

export const REPO_ROOT = resolve(__dirname, '../../..');

export const embeddedEnvSchema = baseEnvSchema.extend({
  PORT: env.port(3000),
  /** Loopback by default: set HOST=0.0.0.0 to reach it from other devices. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Keeps the store's files and the generated signing keys. */
  DATA_DIR: z.string().min(1).default(resolve(REPO_ROOT, '.data')),
  WEB_ROOT: z.string().min(1).default(resolve(REPO_ROOT, 'apps/web/dist')),
  ALLOWED_ORIGINS: z.string().default(''),
  /** Service logs; the launcher itself always says where to go. */
  LOG_LEVEL: env.logLevel().default('warn'),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(10),
  // The assistant's model (DESIGN §7), handed to it as they are and validated by its own config. None set: a
  // local Ollama is used when one answers at 127.0.0.1:11434; otherwise the assistant says how to configure it.
  AI_BASE_URL: env.optional(z.string().min(1)),
  AI_API_KEY: env.optional(z.string().min(1)),
  AI_MODEL: env.optional(z.string().min(1)),
  AI_EMBEDDING_MODEL: env.optional(z.string().min(1)),
  AI_DAILY_TOKENS_PER_USER: env.optional(z.string().min(1)),
  AI_MAX_CONTEXT_TOKENS: env.optional(z.string().min(1)),
});

/** The assistant's variables as given (only those set). */
export const AI_VARIABLES = [
  'AI_BASE_URL',
  'AI_API_KEY',
  'AI_MODEL',
  'AI_EMBEDDING_MODEL',
  'AI_DAILY_TOKENS_PER_USER',
  'AI_MAX_CONTEXT_TOKENS',
] as const;

export type EmbeddedConfig = z.infer<typeof embeddedEnvSchema>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadEmbeddedConfig = configLoader(embeddedEnvSchema);
