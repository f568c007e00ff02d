import { AppError, closeRedis, createRedisClient } from '@cohort/common';
import { startRedisServer, testLogger, waitFor, type RedisServer } from '@cohort/testkit';
import type { Redis } from 'ioredis';
import {
  createLoginLimiter,
  FAILED_LOGINS_PER_ACCOUNT_AND_IP,
  type LoginLimiter,
} from '../src/limits/login-limiter';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

async function useUpAttempts(limiter: LoginLimiter, email: string, ip: string): Promise<void> {
  for (let i = 0; i < FAILED_LOGINS_PER_ACCOUNT_AND_IP; i += 1) await limiter.reserveAttempt(email, ip);
}

describe('login limiter on Redis', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const newLimiter = async (ipLimit = 100) => {
    const redis = createRedisClient({
      url: server.url,
      logger: testLogger(),
      name: `limiter-${clients.length}`,
    });
    clients.push(redis);
    await redis.ping();
    return createLoginLimiter({ redis, ipLimit });
  };

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeRedis(c)));
    await server.close();
  });

  it('refuses a sixth attempt for the same account and IP with 429 and Retry-After', async () => {
    const limiter = await newLimiter();
    await useUpAttempts(limiter, 'a@example.com', '203.0.113.1');
    const err = await rejection(limiter.reserveAttempt('a@example.com', '203.0.113.1'));
    expect(err.status).toBe(429);
    const retryAfter = Number(err.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  });

  it('counts attempts across replicas sharing Redis', async () => {
    const first = await newLimiter();
    const second = await newLimiter();
    for (let i = 0; i < FAILED_LOGINS_PER_ACCOUNT_AND_IP; i += 1) {
      await (i % 2 === 0 ? first : second).reserveAttempt('b@example.com', '203.0.113.2');
    }
    expect((await rejection(second.reserveAttempt('b@example.com', '203.0.113.2'))).status).toBe(429);
  });

  it('does not lock the account out for another IP', async () => {
    const limiter = await newLimiter();
    await useUpAttempts(limiter, 'c@example.com', '203.0.113.3');
    await expect(limiter.reserveAttempt('c@example.com', '198.51.100.3')).resolves.toBeUndefined();
  });

  it('starts counting afresh after a reset', async () => {
    const limiter = await newLimiter();
    await useUpAttempts(limiter, 'd@example.com', '203.0.113.4');
    await limiter.reset('d@example.com', '203.0.113.4');
    await expect(useUpAttempts(limiter, 'd@example.com', '203.0.113.4')).resolves.toBeUndefined();
  });

  it('caps requests per IP', async () => {
    const limiter = await newLimiter(3);
    for (let i = 0; i < 3; i += 1) await limiter.consumeIp('203.0.113.5');
    expect((await rejection(limiter.consumeIp('203.0.113.5'))).status).toBe(429);
    await expect(limiter.consumeIp('198.51.100.5')).resolves.toBeUndefined();
  });

  it('does not wait on a frozen Redis: counts in-process once its heartbeat goes unanswered', async () => {
    const limiter = await newLimiter();
    server.freeze();
    try {
      // The heartbeat notices within half a second; until then a command may wait out its 1 s timeout.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const started = performance.now();
      await useUpAttempts(limiter, 'f@example.com', '203.0.113.7');
      expect((await rejection(limiter.reserveAttempt('f@example.com', '203.0.113.7'))).status).toBe(429);
      // Twelve counter operations: waiting out a command timeout on any of them would take a second.
      expect(performance.now() - started).toBeLessThan(900);
    } finally {
      server.thaw();
      await waitFor(() => Promise.all(clients.map((c) => c.ping())));
    }
  });

  it('keeps limiting in-process while Redis is down', async () => {
    const limiter = await newLimiter();
    await server.stop();
    try {
      await useUpAttempts(limiter, 'e@example.com', '203.0.113.6');
      expect((await rejection(limiter.reserveAttempt('e@example.com', '203.0.113.6'))).status).toBe(429);
    } finally {
      await server.start();
      // Reconnected clients close cleanly afterwards (a command fails at once until a client has reconnected).
      await waitFor(() => Promise.all(clients.map((c) => c.ping())));
    }
  });
});

describe('login limiter in memory (embedded mode)', () => {
  it('refuses a sixth attempt and keeps other IPs apart', async () => {
    const limiter = createLoginLimiter({ ipLimit: 100 });
    await useUpAttempts(limiter, 'f@example.com', '203.0.113.7');
    expect((await rejection(limiter.reserveAttempt('f@example.com', '203.0.113.7'))).status).toBe(429);
    await expect(limiter.reserveAttempt('f@example.com', '203.0.113.8')).resolves.toBeUndefined();
  });
});
