import { errors as undiciErrors } from 'undici';
import { z } from 'zod';
import { AppError } from '../errors';

/**
 * The one set of errors a call to another service ends in, whoever makes it (docs/http-api.md error shape):
 * - the upstream cannot be reached, fails (a 5xx `internal_error` or no error body) or answers in a shape we
 *   cannot use: 503 `upstream_unavailable` with `Retry-After: 1` (the caller may retry shortly);
 * - it does not answer within the deadline: 504 `upstream_timeout`;
 * - it answers with its own `{error:{code,message}}` (a 4xx refusal, or a deliberate 5xx such as 503
 *   `sequence_contention`): that error, status, code, message and Retry-After unchanged.
 * The gateway's proxy answers the same two codes for the same failures.
 */
export const UPSTREAM_UNAVAILABLE = 'upstream_unavailable';
export const UPSTREAM_TIMEOUT = 'upstream_timeout';

/** 503 `upstream_unavailable`: `upstream` (a service name such as "chat-api") gave no usable answer. */
export function upstreamUnavailable(upstream: string): AppError {
  return new AppError(503, UPSTREAM_UNAVAILABLE, `The ${upstream} service is unavailable; try again`, {
    'Retry-After': '1',
  });
}

/** 504 `upstream_timeout`: `upstream` did not answer within the caller's deadline. */
export function upstreamTimeout(upstream: string): AppError {
  return new AppError(504, UPSTREAM_TIMEOUT, `The ${upstream} service did not answer in time; try again`);
}

/** Whether a transport failure is the agent's deadline (connect, headers or body) rather than a refusal. */
export function isTransportTimeout(err: unknown): boolean {
  return (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
  );
}

const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/**
 * The error for an upstream's non-2xx answer (or one entry of a batch answer). Its own error passes through,
 * except `internal_error`: that is the upstream's bug, not something our caller did, and its errorId means
 * nothing to our caller (it is logged instead). Anything without an error body is `upstream_unavailable` for
 * a 5xx (a proxy's or a draining server's answer) and a generic refusal for a 4xx.
 */
export function upstreamAnswerError(
  upstream: string,
  status: number,
  body: unknown,
  retryAfter?: string,
): AppError {
  const failed = status < 400 || status >= 600;
  const parsed = errorBodySchema.safeParse(body);
  if (failed || (status >= 500 && (!parsed.success || parsed.data.error.code === 'internal_error')))
    return upstreamUnavailable(upstream);
  const headers: Record<string, string> = retryAfter ? { 'Retry-After': retryAfter } : {};
  if (parsed.success) return new AppError(status, parsed.data.error.code, parsed.data.error.message, headers);
  return new AppError(
    status,
    status === 404 ? 'not_found' : 'bad_request',
    `The ${upstream} service answered ${status}`,
    headers,
  );
}
