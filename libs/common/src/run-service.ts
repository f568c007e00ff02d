import { ConfigError } from './config';
import { createLogger, type Logger } from './logger';
import { installProcessHandlers, type ShutdownResult } from './shutdown';

/** What a service's `start…()` returns. */
export interface RunningService {
  port: number;
  close(): Promise<void>;
  /** Preferred over `close` when present: reports which steps failed or timed out. */
  shutdown?(reason: string): Promise<ShutdownResult>;
}

export interface RunServiceOptions<C> {
  service: string;
  /** Reads and validates the environment; a ConfigError stops the process with its message. */
  loadConfig: () => C;
  logLevel: (config: C) => string;
  /** Extra fields on every log line (for example the replica id). */
  logBase?: (config: C) => Record<string, unknown>;
  start: (config: C, logger: Logger) => Promise<RunningService>;
}

/**
 * A service's composition root when run as its own process: validate the configuration (a missing or bad
 * variable stops it, named), start, log `{port}` `listening` (launchers and the test harness wait for it),
 * and shut down gracefully on SIGTERM/SIGINT. Every way of failing to start exits 1 with a fatal log line.
 */
export function runService<C>({ service, loadConfig, logLevel, logBase, start }: RunServiceOptions<C>): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    const boot = createLogger({ service });
    if (err instanceof ConfigError) boot.fatal({ issues: err.issues }, err.message);
    else boot.fatal({ err }, 'invalid configuration');
    boot.flush();
    process.exit(1);
  }
  const logger = createLogger({
    service,
    level: logLevel(config),
    ...(logBase ? { base: logBase(config) } : {}),
  });
  start(config, logger).then(
    (running) => {
      installProcessHandlers(logger, (reason) =>
        running.shutdown
          ? running.shutdown(reason)
          : running.close().then(
              (): ShutdownResult => ({ ok: true, failed: [], timedOut: false }),
              (err: unknown): ShutdownResult => {
                logger.error({ err, reason }, 'shutdown failed');
                return { ok: false, failed: [service], timedOut: false };
              },
            ),
      );
      logger.info({ port: running.port }, 'listening');
    },
    (err: unknown) => {
      logger.fatal({ err }, `${service} failed to start`);
      logger.flush();
      process.exit(1);
    },
  );
}
