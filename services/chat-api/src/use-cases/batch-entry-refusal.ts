import { randomUUID } from 'node:crypto';
import {
  AppError,
  isStoreUnavailableError,
  storeUnavailable,
  type BatchEntryError,
  type Logger,
} from '@cohort/common';

/**
 * The refusal for an entry (or a whole batch's entries) that threw `err`. A store outage is a retryable 503 for
 * the socket too, never an internal_error; anything unexpected is logged as an unhandled error in `what`, under a
 * fresh errorId and with `context` (the request id or ids it concerns), and answered 500 with that id.
 */
export function batchEntryRefusal(
  logger: Logger,
  err: unknown,
  what: string,
  context: Readonly<Record<string, unknown>>,
): BatchEntryError {
  const known = err instanceof AppError ? err : isStoreUnavailableError(err) ? storeUnavailable() : null;
  if (known) return { status: known.status, error: { code: known.code, message: known.message } };
  const errorId = randomUUID();
  logger.error({ err, errorId, ...context }, `unhandled error in ${what}`);
  return { status: 500, error: { code: 'internal_error', message: 'Internal server error', errorId } };
}
