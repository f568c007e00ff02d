import { createServer, request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { startRedisServer, type RedisServer } from '@cohort/testkit';
import { createLogger } from '../src/logger';
import { createRuntime, startService } from '../src/runtime/runtime';
import type { ChatEvent } from '../src/contracts';

const logger = createLogger({ service: 'test', level: 'silent' });
const config = { LOG_LEVEL: 'silent' };

/** One GET over the given agent; resolves with the response once its body has been read. */
function get(port: number, agent: Agent, path = '/'): Promise<IncomingMessage & { text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(Object.assign(res, { text })));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('runtime', () => {
  it('closes what was opened last first, the listener before everything opened earlier', async () => {
    const closed: string[] = [];
    const running = await startService({ service: 'svc', logger, config }, async (runtime) => {
      runtime.onClose('mongo', () => void closed.push('mongo'));
      runtime.onClose('workers', () => void closed.push('workers'));
      const server = createServer((_req, res) => res.end('ok'));
      server.on('close', () => closed.push('http'));
      return { port: await runtime.listen(server, { port: 0, host: '127.0.0.1' }) };
    });
    await running.close();
    expect(closed).toEqual(['http', 'workers', 'mongo']);
  });

  it('closes what a failed start had opened, in reverse order, and rethrows', async () => {
    const closed: string[] = [];
    const start = startService({ service: 'svc', logger, config }, async (runtime) => {
      runtime.onClose('first', () => void closed.push('first'));
      runtime.onClose('second', () => void closed.push('second'));
      throw new Error('cannot start');
    });
    await expect(start).rejects.toThrow('cannot start');
    expect(closed).toEqual(['second', 'first']);
  });

  it('reports a failed step from close() after closing the rest', async () => {
    const closed: string[] = [];
    const running = await startService({ service: 'svc', logger, config }, async (runtime) => {
      runtime.onClose('store', () => void closed.push('store'));
      runtime.onClose('broken', () => Promise.reject(new Error('nope')));
      return { port: 0 };
    });
    await expect(running.close()).rejects.toThrow('svc shutdown incomplete: broken');
    expect(closed).toEqual(['store']);
  });

  it('is not ready from the moment shutdown starts', async () => {
    const runtime = createRuntime({ service: 'svc', logger });
    await runtime.listen(createServer(), { port: 0, host: '127.0.0.1' });
    const accepting = runtime.readiness.accepting;
    if (!accepting) throw new Error('the listener registers an "accepting" readiness check');
    await expect(accepting()).resolves.toBeUndefined();
    const stopping = runtime.shutdown('test');
    await expect(accepting()).rejects.toThrow('shutting down');
    await expect(stopping).resolves.toMatchObject({ ok: true });
  });

  it('with a ready delay, keeps serving (not ready, Connection: close) for the delay before closing', async () => {
    const running = await startService(
      { service: 'svc', logger, config: { ...config, SHUTDOWN_READY_DELAY_MS: 300 } },
      async (runtime) => {
        const server = createServer((_req, res) => res.end('ok'));
        const port = await runtime.listen(server, { port: 0, host: '127.0.0.1' });
        return { port, accepting: runtime.readiness.accepting! };
      },
    );
    const agent = new Agent({ keepAlive: true });
    try {
      const started = Date.now();
      const stopping = running.shutdown('test');
      await expect(running.accepting()).rejects.toThrow('shutting down');
      // Still accepting new connections during the delay, each told to close after its answer.
      const during = await get(running.port, agent);
      expect(during.text).toBe('ok');
      expect(during.headers.connection).toBe('close');
      await expect(stopping).resolves.toMatchObject({ ok: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await expect(get(running.port, agent)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });

  it('tells a busy keep-alive connection to close, and does not wait for its client to stop sending', async () => {
    const runtime = createRuntime({ service: 'svc', logger, drainTimeoutMs: 5_000 });
    let slowArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const server = createServer((req, res) => {
      if (req.url !== '/slow') return res.end('ok');
      slowArrived();
      setTimeout(() => res.end('late'), 150);
    });
    const port = await runtime.listen(server, { port: 0, host: '127.0.0.1' });
    // One pooled connection: every request below travels on it, one after another.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(port, agent)).headers.connection).toBe('keep-alive');
      const slow = get(port, agent, '/slow');
      const next = get(port, agent, '/next');
      await arrived;
      const started = Date.now();
      const stopping = runtime.shutdown('test');
      expect((await slow).text).toBe('late');
      const afterDrainStarted = await next.catch((err: Error) => err);
      if (!(afterDrainStarted instanceof Error)) {
        expect(afterDrainStarted.headers.connection).toBe('close');
      }
      await expect(stopping).resolves.toMatchObject({ ok: true });
      // Well inside the 5 s drain bound: the connection was closed, not waited out.
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      agent.destroy();
    }
  });

  it('ends requests still running after the drain bound', async () => {
    const runtime = createRuntime({ service: 'svc', logger, drainTimeoutMs: 200 });
    const server = createServer(() => undefined); // never answers
    const port = await runtime.listen(server, { port: 0, host: '127.0.0.1' });
    const agent = new Agent({ keepAlive: true });
    const hanging = get(port, agent).then(
      () => 'answered',
      () => 'ended',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const result = await runtime.shutdown('test');
    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await hanging).toBe('ended');
    agent.destroy();
  });

  it('applies the same keep-alive timeouts to every service', async () => {
    const runtime = createRuntime({ service: 'svc', logger });
    const server = createServer();
    await runtime.listen(server, { port: 0, host: '127.0.0.1' });
    expect(server.keepAliveTimeout).toBe(65_000);
    expect(server.headersTimeout).toBe(66_000);
    await runtime.shutdown('test');
  });

  it('binds the host it is given', async () => {
    const runtime = createRuntime({ service: 'svc', logger });
    const server = createServer();
    await runtime.listen(server, { port: 0, host: '127.0.0.1' });
    const address = server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
    await runtime.shutdown('test');
  });

  describe('infrastructure', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis.close();
    });

    const event: ChatEvent = { type: 'chat:removed', chatId: 'c1', userIds: ['u1'] };

    it('without REDIS_URL: an in-process bus and denylist, no Redis', async () => {
      const runtime = createRuntime({ service: 'svc', logger });
      expect(runtime.redis()).toBeUndefined();
      const received = new Promise<unknown>((resolve) => {
        void runtime.bus().subscribe('chat-events', resolve);
      });
      await runtime.bus().publish('chat-events', event);
      expect(await received).toEqual(event);
      await runtime.denylist().revoke('jti-1', Math.floor(Date.now() / 1000) + 60);
      expect(await runtime.denylist().isRevoked('jti-1')).toBe(true);
      expect(runtime.readiness.redis).toBeUndefined();
      await expect(runtime.shutdown('test')).resolves.toMatchObject({ ok: true });
    });

    it('a frozen Redis fails a command within the command timeout instead of holding it', async () => {
      const runtime = createRuntime({ service: 'svc', logger, redisUrl: redis.url });
      const admin = runtime.redisConnection('admin');
      try {
        await runtime.readiness.redis?.();
        await admin.ping();
        // CLIENT PAUSE holds every other client's commands, as a stopped (SIGSTOP) server would.
        await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
        const started = Date.now();
        await expect(runtime.redis()!.get('some-key')).rejects.toThrow(/timed out/i);
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(900);
        expect(elapsed).toBeLessThan(2000);
      } finally {
        await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
        await runtime.shutdown('test');
      }
    });

    it('with REDIS_URL: two runtimes share bus and denylist through Redis, and close their connections', async () => {
      const a = createRuntime({ service: 'a', logger, redisUrl: redis.url });
      const b = createRuntime({ service: 'b', logger, redisUrl: redis.url });
      try {
        let deliver: (e: unknown) => void = () => undefined;
        const received = new Promise<unknown>((resolve) => (deliver = resolve));
        // Resolves once Redis confirmed the SUBSCRIBE: a publish after it reaches b, however loaded the machine.
        await b.bus().subscribe('chat-events', (e) => deliver(e));
        await b.readiness.redis?.();
        for (let i = 0; i < 50 && !b.busReceiving(); i++) await new Promise((r) => setTimeout(r, 20));
        expect(b.busReceiving()).toBe(true);
        await a.bus().publish('chat-events', event);
        expect(await received).toEqual(event);
        await a.denylist().revoke('jti-2', Math.floor(Date.now() / 1000) + 60);
        expect(await b.denylist().isRevoked('jti-2')).toBe(true);
      } catch (err) {
        // Open connections would keep jest from exiting: a failed check must not hang the run.
        await Promise.allSettled([a.shutdown('test'), b.shutdown('test')]);
        throw err;
      }
      const command = a.redis();
      if (!command) throw new Error('a runtime with REDIS_URL has a command connection');
      await expect(a.shutdown('test')).resolves.toMatchObject({ ok: true });
      await expect(b.shutdown('test')).resolves.toMatchObject({ ok: true });
      expect(command.status).toBe('end');
    });

    it('connects to a Redis that requires credentials with the ones in REDIS_URL; none are refused', async () => {
      const guarded = await startRedisServer({ password: 'pa ss/word' });
      try {
        const runtime = createRuntime({ service: 'svc', logger, redisUrl: guarded.url });
        await expect(runtime.readiness.redis?.()).resolves.toBeUndefined();
        const anonymous = createRuntime({
          service: 'anon',
          logger,
          redisUrl: `redis://127.0.0.1:${guarded.port}`,
        });
        await expect(anonymous.redis()?.publish('chat-events', '{}')).rejects.toThrow(/NOAUTH/);
        await runtime.shutdown('test');
        await anonymous.shutdown('test');
      } finally {
        await guarded.close();
      }
    });

    it('uses injected infrastructure rather than opening its own', async () => {
      const owner = createRuntime({ service: 'owner', logger });
      const shared = { bus: owner.bus(), denylist: owner.denylist() };
      const guest = createRuntime({ service: 'guest', logger, redisUrl: redis.url, shared });
      expect(guest.bus()).toBe(shared.bus);
      expect(guest.denylist()).toBe(shared.denylist);
      await guest.shutdown('test');
      // The guest does not close what it was lent.
      const received = new Promise<unknown>((resolve) => {
        void shared.bus.subscribe('chat-events', resolve);
      });
      await shared.bus.publish('chat-events', event);
      expect(await received).toEqual(event);
      await owner.shutdown('test');
    });
  });
});
