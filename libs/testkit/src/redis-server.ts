import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitFor } from './ports';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (for outage tests); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Freezes the running server (SIGSTOP): connections stay open and nothing answers, until `thaw()`. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /** Require this password (`requirepass`): the URL then carries it, and clients without it get NOAUTH. */
  password?: string;
}

/** Starts a real `redis-server` (Debian package) on a free loopback port, without persistence. */
export async function startRedisServer({ password }: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cohort-redis-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        ...(password ? ['--requirepass', password] : []),
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    const spawnFailed = new Promise<never>((_, reject) => {
      proc.once('error', (err) =>
        reject(new Error(`cannot start redis-server (is it installed? npm run setup): ${err.message}`)),
      );
    });
    await Promise.race([spawnFailed, waitFor(() => pingOnce(port, password), 10_000)]);
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };

  await start();
  return {
    url: password
      ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`
      : `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async close() {
      child?.kill('SIGCONT');
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One raw (AUTH and) PING over a fresh TCP connection (no client library, so no timers left behind). */
function pingOnce(port: number, password?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    let answer = '';
    socket.once('connect', () =>
      socket.write(`${password ? `AUTH ${JSON.stringify(password)}\r\n` : ''}PING\r\n`),
    );
    socket.on('data', (data) => {
      answer += data.toString();
      if (!answer.includes('PONG') && !answer.includes('-')) return;
      socket.destroy();
      if (answer.includes('+PONG')) resolve();
      else reject(new Error(`unexpected answer ${answer}`));
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('PING timed out'));
    });
    socket.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}
