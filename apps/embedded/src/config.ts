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
});

export type EmbeddedConfig = z.infer<typeof embeddedEnvSchema>;

/** Reads and validates the environment once; a missing or bad variable throws a ConfigError naming it. */
export const loadEmbeddedConfig = configLoader(embeddedEnvSchema);
