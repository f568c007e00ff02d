import { z } from 'zod';
import type { Logger } from '@cohort/common';
import type { AssistantConfig } from '../config';

/** Where answers come from: an endpoint and model, or nothing (the assistant answers `ai_not_configured`). */
export type ModelEndpoint = {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  source: 'config' | 'ollama';
};

const tagsSchema = z.object({ models: z.array(z.object({ name: z.string().min(1) })) });

/** A local Ollama's first model (`GET /api/tags`), or undefined when none answers within `timeoutMs`. */
export async function probeOllama(baseUrl: string, timeoutMs = 1500): Promise<string | undefined> {
  try {
    const res = await fetch(`${baseUrl}/api/tags`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const parsed = tagsSchema.safeParse(await res.json());
    return parsed.success ? parsed.data.models[0]?.name : undefined;
  } catch {
    return undefined;
  }
}

/** AI_BASE_URL + AI_MODEL when set; else, with AI_PROBE_OLLAMA, a local Ollama's first model; else none. */
export async function resolveModelEndpoint(
  config: Pick<
    AssistantConfig,
    'AI_BASE_URL' | 'AI_API_KEY' | 'AI_MODEL' | 'AI_PROBE_OLLAMA' | 'AI_OLLAMA_URL'
  >,
  logger: Logger,
): Promise<ModelEndpoint | undefined> {
  if (config.AI_BASE_URL && config.AI_MODEL) {
    return {
      baseUrl: config.AI_BASE_URL,
      apiKey: config.AI_API_KEY,
      model: config.AI_MODEL,
      source: 'config',
    };
  }
  if (config.AI_PROBE_OLLAMA) {
    const model = await probeOllama(config.AI_OLLAMA_URL);
    if (model) {
      logger.info({ model, url: config.AI_OLLAMA_URL }, 'using the local Ollama');
      return { baseUrl: `${config.AI_OLLAMA_URL}/v1`, model, source: 'ollama' };
    }
    logger.info({ url: config.AI_OLLAMA_URL }, 'no local Ollama answered');
  }
  logger.warn(
    'no model configured: the assistant answers with how to configure one (AI_BASE_URL + AI_MODEL)',
  );
  return undefined;
}
