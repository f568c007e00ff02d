import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO_ROOT = resolve(__dirname, '../../..');

export interface ServiceProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Log lines the service printed (pino JSON), for assertions and debugging. */
  readonly logs: string[];
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (fault tests). */
  kill(): Promise<void>;
}

export type ServiceName = 'auth' | 'chat-api' | 'gateway' | 'realtime';

export interface SpawnServiceOptions {
  /** `services/<name>/src/main.ts` is run from source with tsx. */
  service: ServiceName;
  env: Record<string, string>;
  /** Distinguishes replicas in logs. */
  label?: string;
  startTimeoutMs?: number;
}

/**
 * Runs a service as a real process, exactly as `main.ts` runs in production, and resolves once it logs
 * `listening` with its port (services listen on PORT=0 in tests unless told otherwise).
 */
export function spawnService({
  service,
  label = service,
  ...rest
}: SpawnServiceOptions): Promise<ServiceProcess> {
  return spawnNodeProcess({ entry: join(REPO_ROOT, 'services', service, 'src', 'main.ts'), label, ...rest });
}

export interface SpawnNodeProcessOptions {
  /** A TypeScript entry file, run from source with tsx. */
  entry: string;
  env: Record<string, string>;
  label: string;
  startTimeoutMs?: number;
}

/** Runs a TypeScript entry as a process and resolves once it logs `listening` with a numeric `port`. */
export function spawnNodeProcess({
  entry,
  env,
  label,
  startTimeoutMs = 20_000,
}: SpawnNodeProcessOptions): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) =>
    createInterface({ input: stream }).on('line', (line) => {
      logs.push(line);
      if (process.env.TEST_SERVICE_LOGS) process.stderr.write(`[${label}] ${line}\n`);
    });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const terminate = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<ServiceProcess>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not start within ${startTimeoutMs} ms:\n${logs.slice(-20).join('\n')}`));
    }, startTimeoutMs);
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${label} exited during start (code ${code}, signal ${signal}):\n${logs.slice(-20).join('\n')}`,
        ),
      );
    };
    child.once('exit', onEarlyExit);
    collect(child.stderr!);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      if (process.env.TEST_SERVICE_LOGS) process.stderr.write(`[${label}] ${line}\n`);
      if (!line.includes('"listening"')) return;
      let port: unknown;
      try {
        port = (JSON.parse(line) as { port?: unknown }).port;
      } catch {
        return;
      }
      if (typeof port !== 'number') return;
      clearTimeout(timer);
      child.off('exit', onEarlyExit);
      resolvePromise({
        name: label,
        port,
        url: `http://127.0.0.1:${port}`,
        child,
        logs,
        stop: (graceMs = 5000) => terminate('SIGTERM', graceMs),
        kill: () => terminate('SIGKILL', 0),
      });
    });
  });
}
