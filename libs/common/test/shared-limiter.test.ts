import { startRedisServer, type RedisServer } from '@cohort/testkit';
import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { createSharedLimiter } from '../src/limits/shared-limiter';
import { createLogger } from '../src/logger';
import { closeRedis, createRedisClient } from '../src/redis';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('createSharedLimiter with Redis (real redis-server)', () => {
  let server: RedisServer;
  /** Reads what the limiters left in Redis. */
  let admin: Redis;
  /** Two connections: two replicas sharing the budgets. */
  let clients: Redis[];
  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedisClient({ url: server.url, logger, name: 'admin' });
  });
  afterAll(async () => {
    await closeRedis(admin);
    await server.close();
  });
  beforeEach(async () => {
    await admin.flushall();
    clients = ['one', 'two'].map((name) => createRedisClient({ url: server.url, logger, name }));
    await Promise.all(clients.map((c) => c.ping()));
  });
  // The last test ends a client itself.
  afterEach(() => Promise.all(clients.filter((c) => c.status !== 'end').map((c) => closeRedis(c))));

  /**
   * Watches the socket writes `redis` makes from now on (they still happen); `naming(text)` counts those whose bytes
   * contain `text` (a heartbeat's PING meanwhile does not count).
   */
  const watchWrites = (redis: Redis) => {
    const spy = jest.spyOn(redis.stream, 'write');
    return {
      naming: (text: string) => spy.mock.calls.filter(([chunk]) => String(chunk).includes(text)).length,
      stop: () => spy.mockRestore(),
    };
  };
  const outcome = (consume: Promise<unknown>) =>
    consume.then(
      () => 'taken',
      (err: unknown) => (err instanceof RateLimiterRes ? 'refused' : err),
    );

  it('takes the consumes of one turn to Redis in one write, each answered against the shared budget', async () => {
    const limit = { points: 3, durationSeconds: 10 };
    const [one, two] = clients.map((redis) => createSharedLimiter({ name: 'test', limit, redis }));
    // Each limiter's first command loads its script on its connection: not part of what is counted.
    await Promise.all([one!.consume('warm'), two!.consume('warm')]);

    const writes = watchWrites(clients[0]!);
    const outcomes = await Promise.all(
      ['alice', 'alice', 'bob', 'alice', 'alice', 'carol'].map((key) => outcome(one!.consume(key))),
    );
    expect(writes.naming('cohort:test:')).toBe(1);
    writes.stop();
    expect(outcomes).toEqual(['taken', 'taken', 'taken', 'taken', 'refused', 'taken']);

    // The other replica sees the same budget; a reward given back there counts here.
    expect(await outcome(two!.consume('alice'))).toBe('refused');
    await two!.reward('alice', 3);
    expect(await outcome(one!.consume('alice'))).toBe('taken');
    const res = await one!.get('alice');
    expect(res?.consumedPoints).toBe(3);
    expect(res?.msBeforeNext).toBeGreaterThan(8_000);
    expect(Number(await admin.pttl('cohort:test:alice'))).toBeGreaterThan(8_000);
  });

  it('still writes what the library writes its own way (a block) and shares it', async () => {
    const limit = { points: 5, durationSeconds: 10 };
    const [one, two] = clients.map((redis) => createSharedLimiter({ name: 'test', limit, redis }));
    await one!.block('mallory', 30);
    expect(await outcome(two!.consume('mallory'))).toBe('refused');
    expect(Number(await admin.ttl('cohort:test:mallory'))).toBeGreaterThan(25);
  });

  it('keeps the budget in the process once its Redis connection is gone', async () => {
    const limit = { points: 2, durationSeconds: 10 };
    const one = createSharedLimiter({ name: 'test', limit, redis: clients[0]! });
    await closeRedis(clients[0]!);
    expect([await outcome(one.consume('dave')), await outcome(one.consume('dave'))]).toEqual([
      'taken',
      'taken',
    ]);
    expect(await outcome(one.consume('dave'))).toBe('refused');
    expect(await admin.exists('cohort:test:dave')).toBe(0);
  });
});
