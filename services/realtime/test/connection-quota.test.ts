import { Redis } from 'ioredis';
import { startRedisServer, testLogger, type RedisServer } from '@cohort/testkit';
import { createMemoryConnectionQuota, createRedisConnectionQuota } from '../src/handshake/connection-quota';

describe('connection quota', () => {
  it('embedded: caps a user, gives places back, keeps users apart', async () => {
    const quota = createMemoryConnectionQuota(2);
    expect(await quota.acquire('u1', 's1')).toBe(true);
    expect(await quota.acquire('u1', 's2')).toBe(true);
    expect(await quota.acquire('u1', 's3')).toBe(false);
    expect(await quota.acquire('u2', 's4')).toBe(true);
    quota.release('u1', 's1');
    expect(await quota.acquire('u1', 's3')).toBe(true);
  });

  describe('Redis (real redis-server)', () => {
    let server: RedisServer;
    let redis: Redis;
    let clock = 1_700_000_000_000;
    let n = 0;
    const TTL = 30_000;
    const quota = (max: number) =>
      createRedisConnectionQuota({
        redis,
        max,
        ttlMs: TTL,
        logger: testLogger('quota'),
        prefix: `q${n++}:`,
        now: () => clock,
      });

    beforeAll(async () => {
      server = await startRedisServer();
      redis = new Redis(server.url);
      // The quota skips a Redis that is not connected yet (as one that is down): count only once it is.
      await redis.ping();
    });
    afterAll(async () => {
      await redis.quit();
      await server.close();
    });

    it('never admits more than the cap out of concurrent acquires', async () => {
      const q = quota(5);
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => q.acquire('u', `s${i}`)));
      expect(results.filter(Boolean)).toHaveLength(5);
    });

    it('lets the places of a replica that stopped refreshing expire, and keeps refreshed ones', async () => {
      const q = quota(2);
      expect(await q.acquire('u', 'dead')).toBe(true);
      expect(await q.acquire('u', 'alive')).toBe(true);
      clock += TTL - 1000;
      await q.refresh([{ userId: 'u', socketIds: ['alive'] }]);
      expect(await q.acquire('u', 'new')).toBe(false);
      clock += 2000;
      expect(await q.acquire('u', 'new')).toBe(true);
      expect(await q.acquire('u', 'one-more')).toBe(false);
    });

    it('gives a place back on release', async () => {
      const q = quota(1);
      expect(await q.acquire('u', 'a')).toBe(true);
      expect(await q.acquire('u', 'b')).toBe(false);
      q.release('u', 'a');
      await redis.ping();
      expect(await q.acquire('u', 'b')).toBe(true);
    });
  });
});
