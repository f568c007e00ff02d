import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { closeHttpServer, createShutdown, listen } from '../src/shutdown';
import { createLogger } from '../src/logger';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('graceful shutdown', () => {
  it('closes every step it was given, in order, once', async () => {
    const closed: string[] = [];
    const step = (name: string) => ({ name, close: async () => void closed.push(name) });
    const shutdown = createShutdown({ logger, steps: [step('http'), step('redis'), step('mongo')] });
    const [first, second] = await Promise.all([shutdown('SIGTERM'), shutdown('SIGINT')]);
    expect(closed).toEqual(['http', 'redis', 'mongo']);
    expect(first).toEqual({ ok: true, failed: [], timedOut: false });
    expect(second).toBe(first);
  });

  it('keeps closing the rest when one step fails, and reports it', async () => {
    const closed: string[] = [];
    const shutdown = createShutdown({
      logger,
      steps: [
        { name: 'broken', close: async () => Promise.reject(new Error('nope')) },
        { name: 'mongo', close: async () => void closed.push('mongo') },
      ],
    });
    const result = await shutdown('test');
    expect(closed).toEqual(['mongo']);
    expect(result).toEqual({ ok: false, failed: ['broken'], timedOut: false });
  });

  it('gives up after its bound when a step hangs', async () => {
    const shutdown = createShutdown({
      logger,
      timeoutMs: 50,
      steps: [{ name: 'hang', close: () => new Promise(() => undefined) }],
    });
    const result = await shutdown('test');
    expect(result.timedOut).toBe(true);
    expect(result.ok).toBe(false);
  });

  it('closes a real HTTP server so it stops accepting connections', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    const port = await listen(server, 0, '127.0.0.1');
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
    const shutdown = createShutdown({
      logger,
      steps: [{ name: 'http', close: () => closeHttpServer(server) }],
    });
    expect((await shutdown('test')).ok).toBe(true);
    expect(server.listening).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it('listens with the accept queue it was given (the kernel reports it as the listening socket Send-Q)', async () => {
    const acceptQueue = (port: number) => {
      // `ss -ltnH sport = :PORT`: State Recv-Q Send-Q Local Peer; Send-Q of a listening socket is its backlog.
      const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
      return Number(line.split(/\s+/)[2]);
    };
    const queued = createServer();
    const plain = createServer();
    const queuedPort = await listen(queued, 0, '127.0.0.1', 1234);
    const plainPort = await listen(plain, 0, '127.0.0.1');
    expect(acceptQueue(queuedPort)).toBe(1234);
    expect(acceptQueue(plainPort)).toBe(511);
    await Promise.all([closeHttpServer(queued), closeHttpServer(plain)]);
  });

  it('refuses a busy port with a message naming it', async () => {
    const first = createServer();
    const port = await listen(first, 0, '127.0.0.1');
    await expect(listen(createServer(), port, '127.0.0.1')).rejects.toThrow(`Port ${port} is already in use`);
    await closeHttpServer(first);
  });
});
