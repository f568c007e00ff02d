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

/** The one error middleware: AppError → its status and code; anything else → 500 with a logged errorId. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = err instanceof AppError ? err : fromHttpError(err);
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) res.setHeader(name, value);
      const body: ErrorBody = { error: { code: known.code, message: known.message } };
      if (known.details !== undefined) body.error.details = known.details;
      res.status(known.status).json(body);
      return;
    }
    const errorId = randomUUID();
    (req.log ?? logger).error({ err, errorId }, 'unhandled error');
    const body: ErrorBody = { error: { code: 'internal_error', message: 'Internal server error', errorId } };
    res.status(500).json(body);
  };
}

/** JSON 404 in the contract's shape for unknown paths. */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(AppError.notFound(`No route for ${req.method} ${req.path}`));
  };
}
