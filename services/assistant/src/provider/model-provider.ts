import OpenAI from 'openai';
import CircuitBreaker from 'opossum';
import type { AiUsage, Logger } from '@cohort/common';
import { ProviderFailure } from './provider-errors';
import { retryDelayMs, isRetryable } from './retry-policy';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GenerateRequest {
  messages: ChatTurn[];
  maxTokens: number;
  /** Aborted by a stop: the result keeps what was generated, `finish: 'stopped'`. */
  signal: AbortSignal;
  /** Each piece of text as it arrives, in order. */
  onDelta: (text: string) => void;
  /** Called once, when the first token arrives. */
  onFirstToken?: () => void;
}

export interface GenerateResult {
  text: string;
  usage?: AiUsage;
  /** `length`: cut at max_tokens (or the 16,000-character cap). */
  finish: 'stop' | 'length' | 'stopped';
}

/** A failure after some text was streamed: the text stays (stored with the failure). */
export class PartialFailure extends ProviderFailure {
  constructor(
    failure: ProviderFailure,
    readonly text: string,
  ) {
    super(failure.code, failure.message, failure.reason);
  }
}

export interface ModelProvider {
  readonly model: string;
  /** Streams an answer; rejects with ProviderFailure (none streamed) or PartialFailure (some streamed). */
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** A whole answer at once (summaries), same retries and timeouts. */
  complete(messages: ChatTurn[], maxTokens: number): Promise<{ text: string; usage?: AiUsage }>;
  /** Embedding vectors of `texts` with `model`. */
  embed(model: string, texts: string[]): Promise<number[][]>;
}

export interface OpenAiProviderOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  logger: Logger;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  /** Bound on one call, retries included. */
  deadlineMs: number;
  retryBudgetMs: number;
  /** Longest answer in characters (the answers route's limit). */
  maxChars: number;
  breakerFailures: number;
  breakerResetMs: number;
}

/** Races one pause against `signal`. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Any OpenAI-compatible Chat Completions endpoint through the official SDK. The SDK's own retries are off
 * (maxRetries 0): this module retries 429/5xx/connection failures itself, before the first token only, with
 * exponential backoff and full jitter, honouring Retry-After, within both the retry budget and the call's deadline.
 * First-token and idle timers abort the request (→ ai_timeout). A circuit breaker (opossum) around "get the first
 * token" fails calls at once while the provider keeps failing (→ ai_provider_unavailable), and lets one trial call
 * through after `breakerResetMs`.
 */
export function createOpenAiProvider(options: OpenAiProviderOptions): ModelProvider {
  const { model, logger } = options;
  const client = new OpenAI({
    baseURL: options.baseUrl,
    apiKey: options.apiKey ?? 'not-needed',
    maxRetries: 0,
    timeout: options.deadlineMs,
  });

  type Opened = {
    stream: AsyncIterator<OpenAI.Chat.Completions.ChatCompletionChunk>;
    abort: AbortController;
  };

  /** Opens a streaming call and waits for its first chunk with content (or its end); retried as described. */
  const openStream = async (
    messages: ChatTurn[],
    maxTokens: number,
    signal: AbortSignal,
    deadlineAt: number,
  ): Promise<{ opened: Opened; first: IteratorResult<OpenAI.Chat.Completions.ChatCompletionChunk> }> => {
    const retryUntil = Math.min(deadlineAt, Date.now() + options.retryBudgetMs);
    for (let attempt = 1; ; attempt++) {
      const abort = new AbortController();
      const onStop = () => abort.abort();
      signal.addEventListener('abort', onStop, { once: true });
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          abort.abort();
        },
        Math.max(1, Math.min(options.firstTokenTimeoutMs, deadlineAt - Date.now())),
      );
      try {
        const stream = await client.chat.completions.create(
          {
            model,
            messages,
            stream: true,
            stream_options: { include_usage: true },
            max_tokens: maxTokens,
          },
          { signal: abort.signal },
        );
        const iterator = stream[Symbol.asyncIterator]();
        // The first chunk that carries text (role-only chunks come first on many servers), or the end.
        for (;;) {
          const first = await iterator.next();
          // The SDK ends an aborted stream quietly (no rejection): an abort here is the timer's or a stop.
          if (abort.signal.aborted) throw new Error('aborted before the first token');
          if (first.done || first.value.choices[0]?.delta?.content || first.value.usage) {
            clearTimeout(timer);
            signal.removeEventListener('abort', onStop);
            return { opened: { stream: iterator, abort }, first };
          }
        }
      } catch (err) {
        clearTimeout(timer);
        signal.removeEventListener('abort', onStop);
        if (signal.aborted) throw err;
        if (timedOut)
          throw new ProviderFailure(
            'ai_timeout',
            'no first token in time',
            `first token after ${attempt} attempt(s)`,
          );
        const wait = isRetryable(err) ? retryDelayMs(err, attempt) : undefined;
        const reason = describe(err);
        if (wait === undefined || Date.now() + wait > retryUntil) {
          throw new ProviderFailure(
            'ai_provider_unavailable',
            'provider failed',
            `${reason} after ${attempt} attempt(s)`,
          );
        }
        logger.warn({ attempt, waitMs: wait, reason }, 'provider call failed: retrying');
        await pause(wait, signal);
        if (signal.aborted) throw err;
      }
    }
  };

  // One trial call gets through after resetTimeout; aborted calls (stops) do not count as failures.
  const breaker = new CircuitBreaker(openStream, {
    timeout: false,
    resetTimeout: options.breakerResetMs,
    volumeThreshold: options.breakerFailures,
    // opossum opens when the failure rate is strictly above this: 99 means "every call in the window failed".
    errorThresholdPercentage: 99,
    rollingCountTimeout: 60_000,
    errorFilter: (err: unknown) => !(err instanceof ProviderFailure),
  });
  breaker.on('open', () => logger.warn('provider circuit open: failing fast'));
  breaker.on('close', () => logger.info('provider circuit closed'));

  const generate = async (request: GenerateRequest): Promise<GenerateResult> => {
    const deadlineAt = Date.now() + options.deadlineMs;
    let opened: Opened;
    let first: IteratorResult<OpenAI.Chat.Completions.ChatCompletionChunk>;
    try {
      ({ opened, first } = await breaker.fire(
        request.messages,
        request.maxTokens,
        request.signal,
        deadlineAt,
      ));
    } catch (err) {
      if (request.signal.aborted) return { text: '', finish: 'stopped' };
      if (err instanceof ProviderFailure) throw err;
      if (breaker.opened)
        throw new ProviderFailure('ai_provider_unavailable', 'circuit open', 'circuit open: failing fast');
      throw new ProviderFailure('ai_provider_unavailable', 'provider failed', describe(err));
    }
    request.onFirstToken?.();
    let text = '';
    let usage: AiUsage | undefined;
    let finish: GenerateResult['finish'] = 'stop';
    let timedOut = false;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => {
          timedOut = true;
          opened.abort.abort();
        },
        Math.max(1, Math.min(options.idleTimeoutMs, deadlineAt - Date.now())),
      );
    };
    const onStop = () => opened.abort.abort();
    request.signal.addEventListener('abort', onStop, { once: true });
    try {
      let step = first;
      arm();
      while (!step.done) {
        const chunk = step.value;
        if (chunk.usage)
          usage = {
            promptTokens: chunk.usage.prompt_tokens,
            completionTokens: chunk.usage.completion_tokens,
          };
        const choice = chunk.choices[0];
        let piece = choice?.delta?.content ?? '';
        if (piece) {
          if (text.length + piece.length > options.maxChars) {
            piece = piece.slice(0, options.maxChars - text.length);
            finish = 'length';
          }
          if (piece) {
            text += piece;
            request.onDelta(piece);
          }
          if (finish === 'length') {
            opened.abort.abort();
            break;
          }
        }
        if (choice?.finish_reason === 'length') finish = 'length';
        step = await opened.stream.next();
        // An aborted stream ends quietly in the SDK: the idle timer fired, or a stop came.
        if (timedOut) throw new Error('idle timeout');
        arm();
      }
    } catch (err) {
      if (request.signal.aborted) return { text, ...(usage ? { usage } : {}), finish: 'stopped' };
      const failure = timedOut
        ? new ProviderFailure('ai_timeout', 'no token in time', 'idle timeout')
        : new ProviderFailure('ai_provider_unavailable', 'stream broke', describe(err));
      throw new PartialFailure(failure, text);
    } finally {
      clearTimeout(idle);
      request.signal.removeEventListener('abort', onStop);
    }
    if (request.signal.aborted) return { text, ...(usage ? { usage } : {}), finish: 'stopped' };
    return { text, ...(usage ? { usage } : {}), finish };
  };

  return {
    model,
    generate,
    async complete(messages, maxTokens) {
      let text = '';
      const result = await generate({
        messages,
        maxTokens,
        signal: new AbortController().signal,
        onDelta: (piece) => {
          text += piece;
        },
      });
      return { text: result.text || text, ...(result.usage ? { usage: result.usage } : {}) };
    },
    async embed(embeddingModel, texts) {
      const response = await client.embeddings.create({ model: embeddingModel, input: texts });
      return response.data.sort((a, b) => a.index - b.index).map((d) => d.embedding);
    },
  };
}

/** Why a call failed, for logs: the error's class and status, never its message (it may quote the prompt). */
function describe(err: unknown): string {
  if (err instanceof OpenAI.APIError) return `${err.name} ${String(err.status ?? '')}`.trim();
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return [typeof name === 'string' ? name : 'unknown', typeof code === 'string' ? code : ''].join(' ').trim();
}
