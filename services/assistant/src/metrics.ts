import { Counter, Histogram } from 'prom-client';
import { createMetrics, type ServiceMetrics } from '@cohort/common';

export interface AssistantMetrics extends ServiceMetrics {
  /** Tokens by kind (prompt/completion). */
  tokens: Counter<'kind'>;
  /** Answers by user-visible outcome: done, stopped, or failed:<code>. */
  answers: Counter<'outcome'>;
  /** Seconds from the provider call to its first token. */
  firstToken: Histogram;
  /** `ai:delta` events published. */
  deltas: Counter;
  /** Catch-me-up summaries by how they were made (model, extractive). */
  summaries: Counter<'kind'>;
}

export function createAssistantMetrics(replicaId: string): AssistantMetrics {
  const base = createMetrics('assistant', { replica: replicaId });
  const registers = [base.registry];
  return {
    ...base,
    tokens: new Counter({
      name: 'assistant_tokens_total',
      help: 'Model tokens spent, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    answers: new Counter({
      name: 'assistant_answers_total',
      help: 'Answers stored, by outcome (done, stopped, failed:<code>)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    firstToken: new Histogram({
      name: 'assistant_first_token_seconds',
      help: 'From the provider call to its first token',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
      registers,
    }),
    deltas: new Counter({ name: 'assistant_deltas_total', help: 'ai:delta events published', registers }),
    summaries: new Counter({
      name: 'assistant_summaries_total',
      help: 'Catch-me-up summaries, by how they were made',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}
