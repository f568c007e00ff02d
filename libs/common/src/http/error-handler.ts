import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, type ErrorBody } from '../errors';
import type { Logger } from '../logger';

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** Body-parser and similar errors carry a 4xx status: map them to the contract's error shape. */
function fromHttpError(err: unknown): AppError | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as HttpishError;
  const status = e.status ?? e.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (e.type === 'entity.too.large') return new AppError(413, 'payload_too_large', 'Request body too large');
  if (e.type === 'entity.parse.failed')
    return new AppError(400, 'invalid_json', 'Request body is not valid JSON');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new AppError(415, 'unsupported_encoding', 'Unsupported content encoding');
  }
  return new AppError(status, 'bad_request', 'Bad request');
}

/**
 * MongoDB driver (and mongoose) errors that mean "the store cannot be reached right now" rather than "this
 * request is wrong": a restart, failover or network blip. Retrying shortly succeeds, so they are 503s.
 */
const STORE_UNREACHABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
]);
/** Server codes of a primary going away: ShutdownInProgress, InterruptedAtShutdown, NotWritablePrimary, … */
const STORE_UNREACHABLE_CODES = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);
/** Seconds a client waits before retrying: a restarting store is usually back within one or two. */
export const STORE_RETRY_AFTER_SECONDS = 1;

/**
 * Whether `err` is the store being unreachable (see STORE_UNREACHABLE_NAMES), or wraps such an error as its
 * `cause` or, for a bulk write (MongoBulkWriteError), its `errorResponse`.
 */
export function isStoreUnavailableError(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as {
      name?: unknown;
      code?: unknown;
      errorLabels?: unknown;
      cause?: unknown;
      errorResponse?: unknown;
    };
    if (typeof e.name === 'string' && STORE_UNREACHABLE_NAMES.has(e.name)) return true;
    if (e.name === 'MongoServerError' && typeof e.code === 'number' && STORE_UNREACHABLE_CODES.has(e.code))
      return true;
    if (Array.isArray(e.errorLabels) && e.errorLabels.includes('ResetPool')) return true;
    current = e.cause ?? (e.name === 'MongoBulkWriteError' ? e.errorResponse : undefined);
  }
  return false;
}

/** 503 `store_unavailable` with Retry-After: the answer to a store outage (HTTP and, through chat-api, socket acks). */
export function storeUnavailable(): AppError {
  return new AppError(503, 'store_unavailable', 'The message store is unavailable; try again shortly', {
    'Retry-After': String(STORE_RETRY_AFTER_SECONDS),
  });
}

/** An error as the contract answers it: status, headers and `{error}` body (HTTP and the internal channel alike). */
export interface ErrorAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: ErrorBody;
}

/**
 * AppError → its status and code; a store outage → 503 `store_unavailable`; a body-parser error → its 4xx;
 * anything else → 500 `internal_error` with an errorId, logged on `log`.
 */
export function errorAnswer(err: unknown, log: Logger): ErrorAnswer {
  const storeDown = !(err instanceof AppError) && isStoreUnavailableError(err);
  if (storeDown) log.warn({ err }, 'store unavailable');
  const known = err instanceof AppError ? err : storeDown ? storeUnavailable() : fromHttpError(err);
  if (known) {
    const body: ErrorBody = { error: { code: known.code, message: known.message } };
    if (known.details !== undefined) body.error.details = known.details;
    return { status: known.status, headers: known.headers, body };
  }
  const errorId = randomUUID();
  log.error({ err, errorId }, 'unhandled error');
  return {
    status: 500,
    headers: {},
    body: { error: { code: 'internal_error', message: 'Internal server error', errorId } },
  };
}

/** The one error middleware: the answer `errorAnswer` gives, logged on the request's logger. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, headers, body } = errorAnswer(err, req.log ?? logger);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(status).json(body);
  };
}

/** JSON 404 in the contract's shape for unknown paths. */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(AppError.notFound(`No route for ${req.method} ${req.path}`));
  };
}
