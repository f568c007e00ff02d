import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths that must never reach a log line: credentials, cookies and tokens wherever they appear. */
export const REDACTED_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-cohort-identity"]',
  'res.headers["set-cookie"]',
  'password',
  'token',
  'refreshToken',
  'accessToken',
  '*.password',
  '*.token',
  '*.refreshToken',
  '*.accessToken',
  '*.passwordHash',
];

export interface LoggerSettings {
  service: string;
  level?: LoggerOptions['level'];
  /** Extra fields on every line (for example the realtime replica name). */
  base?: Record<string, unknown>;
  destination?: pino.DestinationStream;
}

/** The one pino factory: `service` on every line, secrets redacted. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service, ...settings.base },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
