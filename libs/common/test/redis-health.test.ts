import { startRedisServer, waitFor, type RedisServer } from '@cohort/testkit';
import { closeRedis, createRedisClient, redisHealth } from '../src/redis';
import { createLogger } from '../src/logger';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Resolves once the connection reads `usable` (checked every 10 ms), or rejects after `timeoutMs`. */
const reads = (health: { usable(): boolean }, usable: boolean, timeoutMs = 5000) =>
  waitFor(() => expect(health.usable()).toBe(usable), timeoutMs, 10);

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
      await reads(health, true);
      // CLIENT PAUSE holds every other client's commands, as a stopped (SIGSTOP) server would.
      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      const paused = performance.now();
      await reads(health, false, 900);
      expect(performance.now() - paused).toBeLessThan(900);
      await reads(health, true, 3000);
    } finally {
      await closeRedis(admin);
      await closeRedis(client);
    }
  });

  it('does not take its own busy process for a frozen server', async () => {
    const client = createRedisClient({ url: server.url, logger, name: 'busy' });
    try {
      const health = redisHealth(client, { intervalMs: 50, stallMs: 100 });
      await reads(health, true);
      // The process is busy for three stall bounds just as a heartbeat goes out: the answer is in its socket, unread.
      const seen: boolean[] = [];
      const ping = client.ping.bind(client);
      client.ping = (() => {
        const answer = ping();
        busy(300);
        seen.push(health.usable());
        return answer;
      }) as typeof client.ping;
      await waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(3), 5000, 10);
      expect(seen.slice(0, 3)).toEqual([true, true, true]);
    } finally {
      await closeRedis(client);
    }
  });
});
