/** An error the API answered with (`{error:{code,message}}`), a refused socket ack, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The HTTP status a socket ack's error code stands for (docs/errors.md), so that REST failures and refused acks
 * are judged alike (retry or not, what to tell the person). Unknown codes count as a refusal (400).
 */
const ACK_STATUS: Readonly<Record<string, number>> = {
  validation_error: 400,
  unauthorized: 401,
  blocked: 403,
  forbidden: 403,
  not_found: 404,
  chat_not_found: 404,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 502,
  upstream_unavailable: 502,
  sequence_contention: 503,
  store_unavailable: 503,
  timeout: 504,
  upstream_timeout: 504,
};

/** A refused ack (`{ok:false, error}`) as an ApiError; a `retryAfter` (seconds), when the server adds one, is kept. */
export function ackError(error: { code: string; message: string }): ApiError {
  const retryAfter: unknown = (error as { retryAfter?: unknown }).retryAfter;
  const seconds = typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter : undefined;
  return new ApiError(ACK_STATUS[error.code] ?? 400, error.code, error.message, seconds);
}

/** A Retry-After header in seconds (it may be a number of seconds or an HTTP date); undefined when absent or past. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const seconds = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : (Date.parse(trimmed) - now) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/** What the person was doing when a call failed: the same refusal reads differently for each. */
export type ErrorContext = 'send' | 'direct' | 'group' | 'add' | 'other';

const BLOCKED: Record<ErrorContext, string> = {
  send: "This person isn't accepting messages from you.",
  direct: "This person isn't accepting messages from you.",
  group: "Someone you picked isn't accepting invitations from you. Remove them and try again.",
  add: "This person isn't accepting invitations from you, so you can't add them.",
  other: "This person isn't accepting messages or invitations from you.",
};

/** "12 s", "3 min": how long to wait, from a Retry-After in seconds. */
export function formatWait(seconds: number): string {
  return seconds < 90 ? `${Math.max(1, Math.ceil(seconds))} s` : `${Math.ceil(seconds / 60)} min`;
}

/** A message fit for a person, from anything thrown by the API or a socket ack; never a bare status code. */
export function describeError(err: unknown, context: ErrorContext = 'other'): string {
  if (err instanceof ApiError) {
    const wait = err.retryAfterSeconds ? `in ${formatWait(err.retryAfterSeconds)}` : 'in a moment';
    if (err.code === 'rate_limited' || err.status === 429) {
      return `You're doing that too often — try again ${wait}.`;
    }
    if (err.code === 'blocked') return BLOCKED[context];
    if (err.code === 'busy') return `The server is busy — try again ${wait}.`;
    if (err.code === 'too_many_connections') {
      return 'You have too many tabs or devices connected. Close one and try again.';
    }
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}
