import { startRedisServer, type RedisServer } from '@cohort/testkit';
import { closeRedis, createRedisClient, redisHealth } from '../src/redis';
import { createLogger } from '../src/logger';

const logger = createLogger({ service: 'test', level: 'silent' });

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Holds the event loop for `ms`, as a process busy with a long task does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('redisHealth (real redis-server)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('takes a frozen server for unusable within a few heartbeats, and usable again once it answers', async () => {
    const client = createRedisClient({ url: server.url, logger, name: 'frozen' });
    const admin = createRedisClient({ url: server.url, logger, name: 'admin' });
    try {
      const health = redisHealth(client, { intervalMs: 50, stallMs: 100 });
      await until(() => health.usable());
      // CLIENT PAUSE holds every other client's commands, as a stopped (SIGSTOP) server would.
      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      const paused = performance.now();
      await until(() => !health.usable(), 900);
      expect(performance.now() - paused).toBeLessThan(900);
      await until(() => health.usable(), 3000);
    } finally {
      await closeRedis(admin);
      await closeRedis(client);
    }
  });

  it('does not take its own busy process for a frozen server', async () => {
    const client = createRedisClient({ url: server.url, logger, name: 'busy' });
    try {
      const health = redisHealth(client, { intervalMs: 50, stallMs: 100 });
      await until(() => health.usable());
      // The process is busy for three stall bounds just as a heartbeat goes out: the answer is in its socket, unread.
      const seen: boolean[] = [];
      const ping = client.ping.bind(client);
      client.ping = (() => {
        const answer = ping();
        busy(300);
        seen.push(health.usable());
        return answer;
      }) as typeof client.ping;
      await until(() => seen.length >= 3);
      expect(seen.slice(0, 3)).toEqual([true, true, true]);
    } finally {
      await closeRedis(client);
    }
  });
});
