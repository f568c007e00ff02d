import { startRedisServer, type RedisServer } from '@cohort/testkit';
import type { Redis } from 'ioredis';
import { createReplicatedDenylist, type ReplicatedDenylist } from '../src/auth/replicated-denylist';
import { createRedisDenylist } from '../src/auth/denylist';
import { createRedisBus } from '../src/bus/redis-bus';
import type { EventBus } from '../src/bus/event-bus';
import { closeRedis, createRedisClient, redisHealth } from '../src/redis';
import { createSharedLimiter } from '../src/limits/shared-limiter';
import { createLogger } from '../src/logger';

const logger = createLogger({ service: 'test', level: 'silent' });
const inAMinute = () => Math.floor(Date.now() / 1000) + 60;

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One "process": a command connection, a subscriber, a bus and the denylist on them. */
interface Process {
  command: Redis;
  bus: EventBus;
  denylist: ReplicatedDenylist;
  close(): Promise<void>;
}

function openProcess(url: string, name: string, syncIntervalMs = 200): Process {
  const command = createRedisClient({ url, logger, name: `${name}-command` });
  const subscriber = createRedisClient({
    url,
    logger,
    name: `${name}-bus`,
    commandTimeoutMs: 0,
    options: { maxRetriesPerRequest: null },
  });
  const bus = createRedisBus({ publisher: command, subscriber, logger });
  const denylist = createReplicatedDenylist({ redis: command, bus, logger, syncIntervalMs });
  return {
    command,
    bus,
    denylist,
    async close() {
      denylist.close();
      await bus.close();
      await closeRedis(subscriber);
      await closeRedis(command);
    },
  };
}

describe('replicated denylist (a local copy that answers while Redis is away)', () => {
  let redis: RedisServer;
  const open: Process[] = [];
  const proc = (name: string, syncIntervalMs?: number) => {
    const p = openProcess(redis.url, name, syncIntervalMs);
    open.push(p);
    return p;
  };

  beforeEach(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    // The server goes whatever happened to the clients: a live redis-server would keep jest from exiting.
    try {
      await Promise.all(open.splice(0).map((p) => p.close()));
    } finally {
      await redis.close();
    }
  });

  it('answers like the Redis denylist while Redis is up, and writes the same keys', async () => {
    const a = proc('a');
    const b = proc('b');
    await until(() => a.denylist.usingRedis() && b.denylist.usingRedis());
    await a.denylist.revoke('jti-1', inAMinute());
    expect(await b.denylist.isRevoked('jti-1')).toBe(true);
    expect(await b.denylist.isRevoked('other', 'jti-1')).toBe(true);
    expect(await b.denylist.isRevoked('other')).toBe(false);
    expect(await b.denylist.revokedAmong([['x'], [], ['jti-1', 'y'], ['z']])).toEqual([
      false,
      false,
      true,
      false,
    ]);
    // A reader of the plain Redis layout (older processes during a deploy) sees the revocation too.
    expect(await createRedisDenylist(b.command).isRevoked('jti-1')).toBe(true);
  });

  it('holds revocations learned before Redis was killed: pushed ones, synced ones; nothing waits', async () => {
    const reader = proc('reader', 200);
    const writer = proc('writer');
    await until(() => reader.denylist.usingRedis() && writer.denylist.usingRedis());
    // Pushed: auth publishes session:revoked (no Redis write needed for the copy to hold it).
    await until(async () => {
      await writer.bus.publish('session-events', {
        type: 'session:revoked',
        sessionId: 'sid-pushed',
        userId: 'u',
      });
      return reader.denylist.localSize() > 0;
    });
    // Synced: written to Redis by another process, no push.
    await writer.denylist.revoke('jti-synced', inAMinute());
    await until(async () => {
      await reader.denylist.sync();
      return reader.denylist.localSize() >= 2;
    });

    await redis.stop();
    await until(() => !reader.denylist.usingRedis());
    expect(await reader.denylist.isRevoked('sid-pushed')).toBe(true);
    expect(await reader.denylist.isRevoked('x', 'jti-synced')).toBe(true);
    expect(await reader.denylist.revokedAmong([['sid-pushed'], ['fresh'], ['jti-synced']])).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('while Redis is frozen, checks stop waiting for it once its heartbeat goes unanswered', async () => {
    const reader = proc('reader');
    const admin = createRedisClient({ url: redis.url, logger, name: 'admin' });
    try {
      await until(() => reader.denylist.usingRedis());
      await reader.denylist.revoke('jti-before', inAMinute());
      // CLIENT PAUSE holds every other client's commands, as a stopped (SIGSTOP) server would.
      await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
      await until(() => !reader.denylist.usingRedis(), 3000);
      // Answered from the local copy, without a command timeout ("Command timed out" would make it reject).
      await expect(reader.denylist.isRevoked('jti-before')).resolves.toBe(true);
      await expect(reader.denylist.isRevoked('jti-unknown')).resolves.toBe(false);
      // The pause ends by itself (CLIENT UNPAUSE would be held too).
      await until(() => reader.denylist.usingRedis(), 6000);
    } finally {
      await closeRedis(admin);
    }
  });

  it('a revocation made while Redis is away holds locally at once and reaches the others when Redis returns', async () => {
    const auth = proc('auth');
    const gateway = proc('gateway', 200);
    await until(() => auth.denylist.usingRedis() && gateway.denylist.usingRedis());
    await redis.stop();
    await until(() => !auth.denylist.usingRedis());
    await auth.denylist.revoke('sid-during', inAMinute());
    expect(await auth.denylist.isRevoked('sid-during')).toBe(true);
    expect(await gateway.denylist.isRevoked('sid-during')).toBe(false);

    await redis.start();
    await until(() => auth.denylist.usingRedis() && gateway.denylist.usingRedis(), 10_000);
    await until(async () => (await gateway.denylist.isRevoked('sid-during')) === true, 5000);
    // The gateway's local copy has it too (synced from the log), so it holds in the next outage.
    await until(() => gateway.denylist.localSize() > 0, 5000);
    await redis.stop();
    await until(() => !gateway.denylist.usingRedis());
    expect(await gateway.denylist.isRevoked('sid-during')).toBe(true);
  });

  it('writes its revocations back to a Redis that restarted without its data, so new processes learn them', async () => {
    const old = proc('old', 200);
    await until(() => old.denylist.usingRedis());
    await old.denylist.revoke('sid-kept', inAMinute());
    await redis.stop();
    await redis.start();
    await until(() => old.denylist.usingRedis(), 10_000);
    const late = proc('late', 200);
    await until(() => late.denylist.usingRedis());
    await until(async () => (await late.denylist.isRevoked('sid-kept')) === true, 5000);
  });

  it('forgets entries when they expire', async () => {
    const p = proc('p', 100);
    await until(() => p.denylist.usingRedis());
    await p.denylist.revoke('short', Math.floor(Date.now() / 1000) + 1);
    expect(await p.denylist.isRevoked('short')).toBe(true);
    await until(async () => p.denylist.localSize() === 0 && !(await p.denylist.isRevoked('short')), 4000);
  });
});

describe('shared limiter while Redis is away', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.close();
  });

  it('keeps limiting per process, killed or frozen, and is shared again when Redis returns', async () => {
    const a = createRedisClient({ url: redis.url, logger, name: 'limiter-a' });
    const b = createRedisClient({ url: redis.url, logger, name: 'limiter-b' });
    const admin = createRedisClient({ url: redis.url, logger, name: 'admin' });
    const limit = { points: 3, durationSeconds: 60 };
    const la = createSharedLimiter({ name: 'degrade-test', limit, redis: a });
    const lb = createSharedLimiter({ name: 'degrade-test', limit, redis: b });
    try {
      await until(() => redisHealth(a).usable() && redisHealth(b).usable());
      // Shared: two points in one process, one in the other, and the fourth is refused anywhere.
      await la.consume('k1', 2);
      await lb.consume('k1', 1);
      await expect(la.consume('k1', 1)).rejects.toMatchObject({ remainingPoints: 0 });

      // Frozen: per process (each has its own full budget), refused past it; nothing rejects with an error.
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      await until(() => !redisHealth(a).usable() && !redisHealth(b).usable(), 3000);
      await la.consume('k2', 3);
      await lb.consume('k2', 3);
      await expect(la.consume('k2', 1)).rejects.toMatchObject({ remainingPoints: 0 });
      await until(() => redisHealth(a).usable(), 6000);

      // Killed: the same.
      await redis.stop();
      await until(() => !redisHealth(a).usable());
      await la.consume('k3', 3);
      await expect(la.consume('k3', 1)).rejects.toMatchObject({ remainingPoints: 0 });
      await redis.start();
      await until(() => redisHealth(a).usable() && redisHealth(b).usable(), 10_000);
      await la.consume('k4', 3);
      await expect(lb.consume('k4', 1)).rejects.toMatchObject({ remainingPoints: 0 });
    } finally {
      for (const c of [a, b, admin]) await closeRedis(c);
    }
  });
});
