import OpenAI from 'openai';

const BASE_MS = 250;
const CAP_MS = 8_000;

/**
 * 429, 5xx (and 408/409, which OpenAI documents as retryable) and failures of the connection itself (refused,
 * reset, a stream cut before its first token: these reach us as the SDK's connection errors or as the HTTP
 * stack's own errors); never another 4xx, never an abort.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof OpenAI.APIUserAbortError) return false;
  if (err instanceof OpenAI.APIConnectionError) return true;
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    return status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
  }
  return typeof err === 'object' && err !== null;
}

/** Seconds (or an HTTP date) in Retry-After, `retry-after-ms` first; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Retry-After when the provider said; otherwise exponential backoff with full jitter (AWS's recipe). */
export function retryDelayMs(err: unknown, attempt: number, random: () => number = Math.random): number {
  const told = err instanceof OpenAI.APIError ? retryAfterMs(err.headers) : undefined;
  if (told !== undefined) return told;
  return Math.round(random() * Math.min(CAP_MS, BASE_MS * 2 ** (attempt - 1)));
}
