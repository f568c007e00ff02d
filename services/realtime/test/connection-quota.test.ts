import { Redis } from 'ioredis';
import { startRedisServer, testLogger, type RedisServer } from '@cohort/testkit';
import { createMemoryConnectionQuota, createRedisConnectionQuota } from '../src/handshake/connection-quota';
import { createRedisPresenceStore } from '../src/presence/redis-presence.store';
import { socketTtlMs } from '../src/presence/renewal';

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
    const quota = (max: number, instanceId = 'r1', prefix = `q${n++}:`) =>
      createRedisConnectionQuota({
        redis,
        max,
        ttlMs: TTL,
        logger: testLogger('quota'),
        instanceId,
        prefix,
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

    it('lets a place nobody renews expire, and keeps renewed ones', async () => {
      const q = quota(2);
      expect(await q.acquire('u', 'dead')).toBe(true);
      expect(await q.acquire('u', 'alive')).toBe(true);
      clock += socketTtlMs(TTL) - 1000;
      await q.refresh([{ userId: 'u', socketIds: ['alive'] }]);
      expect(await q.acquire('u', 'new')).toBe(false);
      clock += 2000;
      expect(await q.acquire('u', 'new')).toBe(true);
      expect(await q.acquire('u', 'one-more')).toBe(false);
    });

    it('gives back the places of sockets swept with a dead replica', async () => {
      const q = quota(2);
      expect(await q.acquire('u', 'on-dead')).toBe(true);
      expect(await q.acquire('u', 'kept')).toBe(true);
      expect(await q.acquire('u', 'new')).toBe(false);
      // As presence's sweep names them (a dead replica that kept no list of its places: a release before lists).
      await q.forget({ replicas: [], users: [{ userId: 'u', socketIds: ['on-dead'] }] });
      expect(await q.acquire('u', 'new')).toBe(true);
      expect(await q.acquire('u', 'one-more')).toBe(false);
    });

    it('gives back every place a dead replica took, a handshake presence never recorded included', async () => {
      const prefix = `q${n++}:`;
      const presencePrefix = `p${n++}:`;
      const presence = (instanceId: string) =>
        createRedisPresenceStore({ redis, instanceId, ttlMs: TTL, now: () => clock, prefix: presencePrefix });
      const dying = quota(2, 'dying', prefix);
      const survivor = quota(2, 'survivor', prefix);
      const dyingPresence = presence('dying');
      const survivorPresence = presence('survivor');
      // 'connected' got as far as presence; 'mid-handshake' took its place and the replica died before `connect`.
      expect(await dying.acquire('u', 'connected')).toBe(true);
      await dyingPresence.add({ userId: 'u', socketId: 'connected', chatIds: ['c'] });
      expect(await dying.acquire('u', 'mid-handshake')).toBe(true);
      expect(await dying.acquire('v', 'other-user')).toBe(true);
      expect(await survivor.acquire('u', 'third')).toBe(false);

      clock += TTL + 1;
      await survivorPresence.beat();
      const swept = await survivorPresence.sweep();
      expect(swept.replicas).toEqual(['dying']);
      expect(swept.users.map((user) => user.socketIds)).toEqual([['connected']]);
      await survivor.forget(swept);
      expect(await redis.exists(`${prefix}u:u`, `${prefix}u:v`, `${prefix}r:dying`)).toBe(0);
      expect(await survivor.acquire('u', 'third')).toBe(true);
      expect(await survivor.acquire('u', 'fourth')).toBe(true);
    });

    it("lists a replica's places while they are held: not a refused one, not a released one", async () => {
      const prefix = `q${n++}:`;
      const q = quota(1, 'r', prefix);
      expect(await q.acquire('u', 'held')).toBe(true);
      expect(await q.acquire('u', 'refused')).toBe(false);
      expect(await q.acquire('v', 'released')).toBe(true);
      q.release('v', 'released');
      await redis.ping();
      expect(await redis.hgetall(`${prefix}r:r`)).toEqual({ held: 'u' });
      // The heartbeat writes the list again with the places it renews (Redis lost it, say).
      await redis.del(`${prefix}r:r`);
      await q.refresh([{ userId: 'u', socketIds: ['held'] }]);
      expect(await redis.hgetall(`${prefix}r:r`)).toEqual({ held: 'u' });
      expect(await redis.pttl(`${prefix}r:r`)).toBeGreaterThan(0);
    });

    it('retries at the next heartbeat a release Redis did not take', async () => {
      const own = new Redis(server.url, { enableOfflineQueue: false });
      await new Promise((resolve) => own.once('ready', resolve));
      const prefix = `q${n++}:`;
      try {
        const q = createRedisConnectionQuota({
          redis: own,
          max: 1,
          ttlMs: TTL,
          logger: testLogger('quota'),
          instanceId: 'r1',
          prefix,
          now: () => clock,
        });
        expect(await q.acquire('u', 'a')).toBe(true);
        const ended = new Promise((resolve) => own.once('end', resolve));
        own.disconnect();
        await ended;
        q.release('u', 'a');
        await new Promise((resolve) => setImmediate(resolve));
        expect(await redis.zcard(`${prefix}u:u`)).toBe(1);
        await own.connect();
        expect(await q.acquire('u', 'b')).toBe(false);
        await q.refresh([]);
        expect(await q.acquire('u', 'b')).toBe(true);
      } finally {
        own.disconnect();
      }
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
