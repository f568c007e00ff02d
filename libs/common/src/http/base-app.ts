import express, { type Express } from 'express';
import { isUtf8 } from 'node:buffer';
import helmet from 'helmet';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { createHttpLogger, trustOneLocalHop } from './request-context';
import type { ServiceMetrics } from './metrics';

export interface BaseAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /**
   * JSON body limit. 64kb: the largest legitimate body is a 4,000-character message, which a client that
   * escapes non-ASCII as \\uXXXX (Python's json does by default) sends as about 24 KB.
   */
  bodyLimit?: string;
  production?: boolean;
  /** Trust X-Forwarded-* from the one local hop in front (the gateway, or realtime's edge): `trustOneLocalHop`. */
  trustProxy?: boolean;
}

/**
 * An Express app with what every service needs first: no X-Powered-By, helmet headers (nosniff…),
 * request ids and pino-http logging, metrics, and a bounded JSON parser.
 * Services add their routes, then `notFoundHandler()` and `errorHandler()`.
 */
export function createBaseApp({
  logger,
  metrics,
  bodyLimit = '64kb',
  production = false,
  trustProxy = true,
}: BaseAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy ? trustOneLocalHop : false);
  app.use(createHttpLogger(logger));
  app.use(
    helmet({
      contentSecurityPolicy: false,
      hsts: production ? { maxAge: 15552000, includeSubDomains: true } : false,
    }),
  );
  app.use(metrics.httpMiddleware);
  app.use(express.json({ limit: bodyLimit, strict: true, verify: refuseInvalidUtf8 }));
  return app;
}

/** JSON is UTF-8 (RFC 8259): bytes that are not are refused, never decoded into U+FFFD and stored. */
function refuseInvalidUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw AppError.badRequest('Request body is not valid UTF-8', 'invalid_utf8');
}
