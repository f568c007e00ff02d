import { startRedisServer, type RedisServer } from '@cohort/testkit';
import type { Redis } from 'ioredis';
import { createLogger } from '../src/logger';
import { closeRedis, createRedisClient } from '../src/redis';
import { redisRoundTrips } from '../src/redis-round-trips';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('redisRoundTrips (real redis-server)', () => {
  let server: RedisServer;
  let client: Redis;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(async () => {
    client = createRedisClient({ url: server.url, logger, name: 'trips' });
    admin = createRedisClient({ url: server.url, logger, name: 'admin' });
    await Promise.all([client.ping(), admin.ping()]);
    await admin.flushall();
  });
  afterEach(async () => {
    // The last test ends its client itself.
    if (client.status !== 'end') await closeRedis(client);
    await closeRedis(admin);
  });

  /** Read events Redis processed so far (each INFO call counts its own). */
  const readsSoFar = async () => {
    const info = await admin.info('stats');
    return Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1]);
  };

  it('sends what callers queue in one turn in one write, in order, each caller answered with its own replies', async () => {
    const trips = redisRoundTrips(client);
    expect(redisRoundTrips(client)).toBe(trips);
    const before = await readsSoFar();
    const answers = await Promise.all([
      trips.send((p) => p.set('k', '1')),
      trips.send((p) => p.get('k').incr('n')),
      trips.send((p) => p.set('k', '2')),
      trips.send((p) => p.get('k').incr('n')),
    ]);
    // One read event for the four callers' commands, one for the INFO that counts them.
    expect((await readsSoFar()) - before).toBe(2);
    expect(answers).toEqual([
      [[null, 'OK']],
      [
        [null, '1'],
        [null, 1],
      ],
      [[null, 'OK']],
      [
        [null, '2'],
        [null, 2],
      ],
    ]);

    // Callers in different turns: a write each.
    const apart = await readsSoFar();
    for (const key of ['a', 'b', 'c']) await trips.send((p) => p.set(key, key));
    expect((await readsSoFar()) - apart).toBe(4);
  });

  it("gives a command's error to its caller alone, and answers a caller that queued nothing at once", async () => {
    const trips = redisRoundTrips(client);
    await client.set('text', 'abc');
    const [failing, fine, empty] = await Promise.all([
      trips.send((p) => p.incr('text')),
      trips.send((p) => p.get('text')),
      trips.send(() => undefined),
    ]);
    expect(failing[0]?.[0]).toBeInstanceOf(Error);
    expect(fine).toEqual([[null, 'abc']]);
    expect(empty).toEqual([]);
  });

  it('answers every caller with errors, and writes nothing, when the connection is lost', async () => {
    const trips = redisRoundTrips(client);
    client.disconnect();
    const [read, write] = await Promise.all([
      trips.send((p) => p.get('k')),
      trips.send((p) => p.set('k', 'v').incr('n')),
    ]);
    expect(read).toHaveLength(1);
    expect(write).toHaveLength(2);
    for (const [err] of [...read, ...write]) expect(err).toBeInstanceOf(Error);
    expect(await admin.exists('k', 'n')).toBe(0);
  });
});
