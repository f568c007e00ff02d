import type { Server } from 'node:http';
import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  close: () => Promise<void>;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Closed in order: typically the HTTP server first, then consumers, then Redis and Mongo. */
  steps: ShutdownStep[];
  /** Past this bound the remaining steps are abandoned and the result says so. */
  timeoutMs?: number;
}

export interface ShutdownResult {
  ok: boolean;
  failed: string[];
  timedOut: boolean;
}

/** Returns an idempotent `shutdown()` that closes every step in order, each failure logged, within a bound. */
export function createShutdown({
  logger,
  steps,
  timeoutMs = 10_000,
}: ShutdownOptions): (reason: string) => Promise<ShutdownResult> {
  let running: Promise<ShutdownResult> | undefined;
  return (reason) => {
    running ??= (async () => {
      logger.info({ reason }, 'shutting down');
      const failed: string[] = [];
      const work = (async () => {
        for (const step of steps) {
          try {
            await step.close();
            logger.debug({ step: step.name }, 'closed');
          } catch (err) {
            failed.push(step.name);
            logger.error({ err, step: step.name }, 'shutdown step failed');
          }
        }
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        work.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) logger.error({ timeoutMs }, 'shutdown timed out');
      return { ok: !timedOut && failed.length === 0, failed, timedOut };
    })();
    return running;
  };
}

/**
 * Wires SIGTERM/SIGINT to `shutdown` and exits with its outcome. A crash (uncaught exception or
 * unhandled rejection) is logged as fatal and also shuts down: we never keep running in an unknown state.
 */
export function installProcessHandlers(
  logger: Logger,
  shutdown: (reason: string) => Promise<ShutdownResult>,
): void {
  const stop = (reason: string, code: number) => {
    void shutdown(reason).then((result) => {
      logger.flush();
      process.exit(result.ok ? code : 1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM', 0));
  process.once('SIGINT', () => stop('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    stop('unhandledRejection', 1);
  });
}

/** Closes an HTTP server: stop accepting, end idle keep-alive sockets, wait for in-flight requests. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}

/**
 * Listens on `port` (0 = any free) at `host` with an accept queue of `backlog` (Node's default when unset); a busy
 * port rejects with a message that names it.
 */
export function listen(server: Server, port: number, host = '0.0.0.0', backlog?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE')
        reject(new Error(`Port ${port} is already in use (set PORT to another port)`));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, backlog });
  });
}
