import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, waitFor } from './ports';

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

export type ServiceName = 'auth' | 'chat-api' | 'gateway' | 'realtime' | 'assistant';

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

/**
 * Runs a TypeScript entry as a process on a free port (unless `env.PORT` names one) and resolves once it is
 * ready: it logged `listening`, or its `/healthz` answers (so readiness does not depend on the log level).
 */
export async function spawnNodeProcess({
  entry,
  env,
  label,
  startTimeoutMs = 20_000,
}: SpawnNodeProcessOptions): Promise<ServiceProcess> {
  const port = env.PORT && env.PORT !== '0' ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let loggedListening = false;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"listening"')) loggedListening = true;
      if (process.env.TEST_SERVICE_LOGS) process.stderr.write(`[${label}] ${line}\n`);
    });
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const terminate = async (signal: NodeJS.Signals, graceMs: number) => {
    if (hasExited()) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (hasExited()) return 'exited';
        if (loggedListening) return 'ready';
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (!res.ok) throw new Error(`healthz ${res.status}`);
        return 'ready';
      },
      startTimeoutMs,
      100,
    ).then((state) => {
      if (state === 'exited')
        throw new Error(`exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
    });
  } catch (err) {
    child.kill('SIGKILL');
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${label} did not start: ${reason}\n${logs.slice(-20).join('\n')}`, { cause: err });
  }
  return {
    name: label,
    port,
    url,
    child,
    logs,
    stop: (graceMs = 5000) => terminate('SIGTERM', graceMs),
    kill: () => terminate('SIGKILL', 0),
  };
}
