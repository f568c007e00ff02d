import { ConfigError } from './config';
import { createLogger } from './logger';
import { installProcessHandlers } from './shutdown';
import type { RunningService, ServiceConfig, StartOptions } from './runtime/runtime';

/**
 * A service's entry point when run as its own process: validate the configuration (a missing or bad variable
 * stops it, named), start, log `{port}` `listening` (launchers and the test harness wait for it), and shut down
 * gracefully on SIGTERM/SIGINT. Every way of failing to start exits 1 with a fatal log line.
 */
export function runService<C extends ServiceConfig>(
  service: string,
  loadConfig: () => C,
  start: (options: StartOptions<C>) => Promise<RunningService>,
): void {
  const boot = createLogger({ service });
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) boot.fatal({ issues: err.issues }, err.message);
    else boot.fatal({ err }, 'invalid configuration');
    boot.flush();
    process.exit(1);
  }
  start({ config }).then(
    (running) => {
      installProcessHandlers(running.logger, (reason) => running.shutdown(reason));
      running.logger.info({ port: running.port }, 'listening');
    },
    (err: unknown) => {
      boot.fatal({ err }, `${service} failed to start`);
      boot.flush();
      process.exit(1);
    },
  );
}
