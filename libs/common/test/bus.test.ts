import { startRedisServer, type RedisServer } from '@cohort/testkit';
import { createMemoryBus } from '../src/bus/memory-bus';
import { createRedisBus } from '../src/bus/redis-bus';
import { createMemoryDenylist, createRedisDenylist } from '../src/auth/denylist';
import { createRedisClient, closeRedis } from '../src/redis';
import { createLogger } from '../src/logger';
import type { ChatEvent } from '../src/contracts/bus-events';
import type { EventBus } from '../src/bus/event-bus';

const logger = createLogger({ service: 'test', level: 'silent' });
const event: ChatEvent = { type: 'chat:read', chatId: 'c1', userId: 'u1', seq: 3 };

function nextEvent(bus: EventBus): Promise<ChatEvent> {
  return new Promise((resolve) => void bus.subscribe('chat-events', resolve));
}

describe('memory bus', () => {
  it('delivers a copy of each published event to every subscriber, asynchronously', async () => {
    const bus = createMemoryBus();
    const received = Promise.all([nextEvent(bus), nextEvent(bus)]);
    const payload = { ...event };
    await bus.publish('chat-events', payload);
    payload.seq = 99;
    expect(await received).toEqual([event, event]);
  });

  it('stops delivering after unsubscribe', async () => {
    const bus = createMemoryBus();
    const seen: ChatEvent[] = [];
    const unsubscribe = await bus.subscribe('chat-events', (e) => seen.push(e));
    await unsubscribe();
    await bus.publish('chat-events', event);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
  });
});

describe('memory denylist', () => {
  it('forgets an entry once its expiry has passed', async () => {
    let now = 1_000_000;
    const denylist = createMemoryDenylist(() => now);
    await denylist.revoke('jti-1', now / 1000 + 10);
    expect(await denylist.isRevoked('other', 'jti-1')).toBe(true);
    expect(await denylist.revokedAmong([['a'], ['b', 'jti-1']])).toEqual([false, true]);
    now += 11_000;
    expect(await denylist.isRevoked('jti-1')).toBe(false);
  });
});

describe('over a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => redis.close());

  it('the Redis bus delivers events between two separate connections', async () => {
    const clients = [0, 1, 2].map((i) => createRedisClient({ url: redis.url, logger, name: `t${i}` }));
    const [pub, subA, subB] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    try {
      const publisher = createRedisBus({ publisher: pub, subscriber: subA, logger });
      const listener = createRedisBus({ publisher: pub, subscriber: subB, logger });
      let deliver: (e: ChatEvent) => void = () => undefined;
      const received = new Promise<ChatEvent>((resolve) => (deliver = resolve));
      // Resolves once Redis confirmed the SUBSCRIBE: a publish after it reaches the listener, however loaded the machine.
      await listener.subscribe('chat-events', (e) => deliver(e));
      await publisher.publish('chat-events', event);
      expect(await received).toEqual(event);
    } finally {
      // Open clients would keep jest from exiting (a failed test must not hang the run).
      await Promise.all(clients.map(closeRedis));
    }
  });

  it('the Redis denylist expires entries with the token', async () => {
    const client = createRedisClient({ url: redis.url, logger, name: 'deny' });
    const denylist = createRedisDenylist(client);
    await denylist.revoke('jti-2', Math.floor(Date.now() / 1000) + 60);
    expect(await denylist.isRevoked('jti-2')).toBe(true);
    expect(await client.ttl('cohort:deny:jti-2')).toBeGreaterThan(50);
    expect(await denylist.isRevoked('jti-3')).toBe(false);
    expect(await denylist.revokedAmong([['sid-a', 'jti-3'], ['sid-b', 'jti-2'], []])).toEqual([
      false,
      true,
      false,
    ]);
    await closeRedis(client);
  });

  it('closing a client whose connection just broke (still "ready", stream gone) resolves and releases it', async () => {
    const client = createRedisClient({ url: redis.url, logger, name: 'broken' });
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    // The state CI met: the stream is closed but ioredis has not yet seen it, so QUIT cannot be written.
    client.stream.destroy();
    expect(client.status).toBe('ready');
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await expect(closeRedis(client)).resolves.toBeUndefined();
    // Released for good: no reconnection (a client left reconnecting keeps jest from ever exiting).
    await ended;
    expect(client.status).toBe('end');
  });
});
