import type { AiErrorCode } from '@cohort/common';

/** A provider call that ended without an answer the user can keep as `done`. */
export class ProviderFailure extends Error {
  constructor(
    readonly code: Extract<AiErrorCode, 'ai_timeout' | 'ai_provider_unavailable'>,
    message: string,
    /** Why, for logs (never shown to users): status, error name. */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'ProviderFailure';
  }
}

/** What users read when the model could not answer (stored as the answer's text and error message). */
export const FAILURE_TEXT = {
  ai_not_configured:
    'cohortGPT is not configured, so it cannot answer yet. To enable it, set AI_BASE_URL (any OpenAI-compatible ' +
    'endpoint, e.g. https://api.openai.com/v1) and AI_MODEL (and AI_API_KEY if the endpoint needs one) for the ' +
    'assistant service, or run Ollama locally (https://ollama.com) with a model pulled, and restart.',
  ai_provider_unavailable:
    'cohortGPT could not reach its model provider right now. Please try again in a moment.',
  ai_timeout: 'cohortGPT’s model took too long to answer. Please try again.',
  ai_budget_exceeded: 'You have used your cohortGPT token budget for today. It resets at midnight UTC.',
  ai_interrupted:
    'cohortGPT was interrupted while answering (a server restarted). Ask again to get a full answer.',
} as const satisfies Record<AiErrorCode, string>;
