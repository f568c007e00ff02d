import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '@cohort/testkit';
import { createMemoryPresenceStore } from '../src/presence/presence.store';
import { createRedisPresenceStore } from '../src/presence/redis-presence.store';
import { socketTtlMs } from '../src/presence/renewal';

describe('Redis presence store (real redis-server)', () => {
  let server: RedisServer;
  let redis: Redis;
  let clock: number;
  const now = () => clock;
  const TTL = 30_000;
  let prefix: string;
  let n = 0;

  const replica = (instanceId: string) =>
    createRedisPresenceStore({ redis, instanceId, ttlMs: TTL, now, prefix });

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  beforeEach(() => {
    clock = 1_700_000_000_000;
    prefix = `t${n++}:`;
  });
  afterAll(async () => {
    await redis.quit();
    await server.close();
  });

  it('reports a user online at their first socket on any replica and offline at their last', async () => {
    const a = replica('a');
    const b = replica('b');
    expect(await a.add({ userId: 'u1', socketId: 's1', chatIds: ['c1'] })).toBe(true);
    expect(await b.add({ userId: 'u1', socketId: 's2', chatIds: ['c1'] })).toBe(false);
    expect(await a.add({ userId: 'u1', socketId: 's3', chatIds: ['c1'] })).toBe(false);
    expect(await a.remove('u1', 's1')).toBe(false);
    expect(await b.remove('u1', 's2')).toBe(false);
    expect(await a.online(['u1', 'u2'])).toEqual(['u1']);
    expect(await a.remove('u1', 's3')).toBe(true);
    expect(await a.online(['u1'])).toEqual([]);
  });

  it('counts exactly one first socket when tabs connect at the same time on different replicas', async () => {
    const stores = ['a', 'b', 'c'].map(replica);
    const firsts = await Promise.all(
      stores.map((s, i) => s.add({ userId: 'u', socketId: `s${i}`, chatIds: [] })),
    );
    expect(firsts.filter(Boolean)).toHaveLength(1);
    const lasts = await Promise.all(stores.map((s, i) => s.remove('u', `s${i}`)));
    expect(lasts.filter(Boolean)).toHaveLength(1);
  });

  it('sweeps the sockets of a replica that stops beating: one sweeper reports them, and who went offline', async () => {
    const dead = replica('dead');
    const alive = replica('alive');
    const other = replica('other');
    await dead.add({ userId: 'only-there', socketId: 's1', chatIds: ['c1', 'c2'] });
    await dead.add({ userId: 'also-elsewhere', socketId: 's2', chatIds: ['c3'] });
    await alive.add({ userId: 'also-elsewhere', socketId: 's3', chatIds: ['c3'] });

    clock += TTL / 3;
    await Promise.all([alive.beat(), other.beat()]);
    expect(await alive.sweep()).toEqual({ replicas: [], users: [] });

    clock += TTL;
    await Promise.all([alive.beat(), other.beat()]);
    // Until it is swept, a dead replica's sockets still count (the sweep is what ends them, not an expiry).
    expect(await alive.online(['only-there', 'also-elsewhere'])).toEqual(['only-there', 'also-elsewhere']);
    const [first, second] = await Promise.all([alive.sweep(), other.sweep()]);
    expect([...first.replicas, ...second.replicas]).toEqual(['dead']);
    expect([...first.users, ...second.users].sort((x, y) => x.userId.localeCompare(y.userId))).toEqual([
      { userId: 'also-elsewhere', socketIds: ['s2'], chatIds: ['c3'], offline: false },
      { userId: 'only-there', socketIds: ['s1'], chatIds: ['c1', 'c2'], offline: true },
    ]);
    expect(await alive.online(['only-there', 'also-elsewhere'])).toEqual(['also-elsewhere']);
    expect(await alive.sweep()).toEqual({ replicas: [], users: [] });
  });

  it('names in its record only the users with a socket on the replica, for the sweep', async () => {
    const a = replica('a');
    await Promise.all([
      a.add({ userId: 'u', socketId: 's1', chatIds: ['c1'] }),
      a.add({ userId: 'v', socketId: 's2', chatIds: ['c2'] }),
      a.add({ userId: 'v', socketId: 's3', chatIds: ['c2'] }),
    ]);
    expect((await redis.hkeys(`${prefix}r:a`)).sort()).toEqual(['u', 'v']);
    await a.remove('u', 's1');
    await a.remove('v', 's2');
    expect(await redis.hkeys(`${prefix}r:a`)).toEqual(['v']);
    // Gone and back in one turn: still named.
    await Promise.all([a.remove('v', 's3'), a.add({ userId: 'v', socketId: 's4', chatIds: ['c2'] })]);
    expect(await redis.hkeys(`${prefix}r:a`)).toEqual(['v']);
    await a.remove('v', 's4');
    expect(await redis.hkeys(`${prefix}r:a`)).toEqual([]);
  });

  it('applies the adds and removes of one turn in order: one first socket, and a remove never overtakes its add', async () => {
    const a = replica('a');
    const outcomes = await Promise.all([
      a.add({ userId: 'u', socketId: 's1', chatIds: ['c1'] }),
      a.add({ userId: 'u', socketId: 's2', chatIds: ['c1'] }),
      a.add({ userId: 'v', socketId: 's3', chatIds: [] }),
      a.remove('v', 's3'),
    ]);
    expect(outcomes).toEqual([true, false, true, true]);
    expect(await a.online(['u', 'v'])).toEqual(['u']);
  });

  it('keeps the sockets it renews, and lets an entry nobody renews expire', async () => {
    const a = replica('a');
    await a.add({ userId: 'u', socketId: 's1', chatIds: [] });
    await a.add({ userId: 'u', socketId: 's2', chatIds: [] });
    await a.add({ userId: 'u', socketId: 'gone', chatIds: [] });
    clock += socketTtlMs(TTL) / 2;
    await a.renew([{ userId: 'u', socketIds: ['s1', 's2'], chatIds: [] }], false);
    clock += socketTtlMs(TTL) / 2 + 1;
    expect(await a.remove('u', 's1')).toBe(false);
    expect(await a.online(['u'])).toEqual(['u']);
    expect(await a.remove('u', 's2')).toBe(true);
  });

  it('says when the store lost the replica (new, Redis lost its data, swept after a stall), and renewing all restores it', async () => {
    const a = replica('a');
    const b = replica('b');
    const all = [{ userId: 'u', socketIds: ['s'], chatIds: ['c'] }];
    await a.add({ userId: 'u', socketId: 's', chatIds: ['c'] });
    expect(await a.beat()).toBe(false);
    await a.renew(all, true);
    expect(await a.beat()).toBe(true);

    await redis.flushall();
    expect(await a.online(['u'])).toEqual([]);
    expect(await a.beat()).toBe(false);
    await a.renew(all, true);
    expect(await a.online(['u'])).toEqual(['u']);
    expect(await redis.hkeys(`${prefix}r:a`)).toEqual(['u']);
    expect(await a.beat()).toBe(true);

    // a stalls past the TTL: b takes it for dead and sweeps it.
    clock += TTL + 1;
    await b.beat();
    expect(await b.sweep()).toEqual({
      replicas: ['a'],
      users: [{ userId: 'u', socketIds: ['s'], chatIds: ['c'], offline: true }],
    });
    expect(await a.beat()).toBe(false);
    await a.renew(all, true);
    expect(await b.online(['u'])).toEqual(['u']);
  });
});

describe('memory presence store (embedded mode)', () => {
  it('aggregates several tabs of one user', async () => {
    const store = createMemoryPresenceStore();
    expect(await store.add({ userId: 'u', socketId: 'a', chatIds: [] })).toBe(true);
    expect(await store.add({ userId: 'u', socketId: 'b', chatIds: [] })).toBe(false);
    expect(await store.remove('u', 'a')).toBe(false);
    expect(await store.online(['u', 'v'])).toEqual(['u']);
    expect(await store.remove('u', 'b')).toBe(true);
  });
});
