import { startRedisServer, type RedisServer } from '@cohort/testkit';
import type { Redis } from 'ioredis';
import { createLogger } from '../src/logger';
import { createMembershipDirectory, type MembershipDirectory } from '../src/membership-directory';
import { closeRedis, createRedisClient } from '../src/redis';

const logger = createLogger({ service: 'test', level: 'silent' });
const entry = (...chatIds: string[]) => ({ chatIds, blockPartners: [] as string[] });

async function until(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The directory against a real redis-server: chat-api's side (versions, fill, change) and realtime's (read), each
 * on its own connection as the two processes would be.
 */
describe('membership directory (chat-api fills, every change invalidates, realtime reads)', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  let owner: MembershipDirectory;
  let reader: MembershipDirectory;
  const connect = (url: string) => {
    const client = createRedisClient({ url, logger, name: `test-${clients.length}` });
    clients.push(client);
    return client;
  };
  /** A lookup as chat-api answers it: versions first, then the store's answer (given), then the fill. */
  const lookup = async (userId: string, answer: ReturnType<typeof entry>) => {
    const versions = await owner.versions([userId]);
    if (!versions) throw new Error('no versions');
    await owner.fill(new Map([[userId, answer]]), versions);
  };
  const held = async (userId: string) => (await reader.read([userId])).get(userId);
  const event = (client: Redis, name: 'ready' | 'end') =>
    new Promise((resolve) => client.once(name, resolve));
  /** A change of `userId` by `owner` whose write waits for `release()`: a change still being written. */
  const changeHeldOpen = (userId: string) => {
    let release!: () => void;
    const writing = new Promise<void>((resolve) => (release = resolve));
    return { done: owner.change([userId], () => writing), release };
  };
  /** Another chat-api process on a connection of its own, which `cutOff` takes away from Redis. */
  const otherProcess = async () => {
    const client = connect(redis.url);
    await event(client, 'ready');
    return {
      client,
      directory: createMembershipDirectory({ redis: client, logger, ttlMs: 60_000, retryMs: 50 }),
      async cutOff() {
        const ended = event(client, 'end');
        client.disconnect();
        await ended;
      },
    };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    owner = createMembershipDirectory({ redis: connect(redis.url), logger, ttlMs: 60_000 });
    reader = createMembershipDirectory({ redis: connect(redis.url), logger });
    // Reads are not waited on while a connection is not ready (a miss is answered at once).
    await Promise.all(clients.map((c) => event(c, 'ready')));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => closeRedis(c)));
    await redis?.stop();
  });

  it('gives the reader what a lookup filled, per user, and nothing for users never looked up', async () => {
    await lookup('u-fill-1', { chatIds: ['c1', 'c2'], blockPartners: ['u-x'] });
    await lookup('u-fill-2', entry('c3'));
    const found = await reader.read(['u-fill-1', 'u-fill-2', 'u-fill-never']);
    expect(found.get('u-fill-1')).toEqual({ chatIds: ['c1', 'c2'], blockPartners: ['u-x'] });
    expect(found.get('u-fill-2')).toEqual(entry('c3'));
    expect(found.has('u-fill-never')).toBe(false);
  });

  it('removes the entries of every user a change touches, and only theirs', async () => {
    await lookup('u-ch-a', entry('c1'));
    await lookup('u-ch-b', entry('c1'));
    await lookup('u-ch-c', entry('c1'));
    const result = await owner.change(['u-ch-a', 'u-ch-b', 'u-ch-a'], async () => 'written');
    expect(result).toBe('written');
    expect(await held('u-ch-a')).toBeUndefined();
    expect(await held('u-ch-b')).toBeUndefined();
    expect(await held('u-ch-c')).toEqual(entry('c1'));
  });

  it('refuses a fill whose versions were read before a change, even when the change ended first', async () => {
    const versions = await owner.versions(['u-race']);
    // The lookup read the store here: the change below is not in what it read.
    await owner.change(['u-race'], async () => undefined);
    await owner.fill(new Map([['u-race', entry('c-before-removal')]]), versions!);
    expect(await held('u-race')).toBeUndefined();
    // A lookup after the change fills.
    await lookup('u-race', entry());
    expect(await held('u-race')).toEqual(entry());
  });

  it('refuses every fill while a change is being written, with versions read before or during it', async () => {
    const before = await owner.versions(['u-pending']);
    await owner.change(['u-pending'], async () => {
      const during = await owner.versions(['u-pending']);
      await owner.fill(new Map([['u-pending', entry('c-old')]]), before!);
      await owner.fill(new Map([['u-pending', entry('c-old')]]), during!);
      expect(await held('u-pending')).toBeUndefined();
    });
    expect(await held('u-pending')).toBeUndefined();
  });

  it('keeps refusing fills while any of two overlapping changes of a user runs', async () => {
    const first = changeHeldOpen('u-overlap');
    // A second change of the same user starts and ends while the first one is still writing.
    await owner.change(['u-overlap'], async () => undefined);
    await lookup('u-overlap', entry('c-old'));
    expect(await held('u-overlap')).toBeUndefined();
    first.release();
    await first.done;
    await lookup('u-overlap', entry('c-new'));
    expect(await held('u-overlap')).toEqual(entry('c-new'));
  });

  it('ends a change whose write fails: the error is the write’s, and later lookups fill again', async () => {
    await lookup('u-fails', entry('c1'));
    await expect(
      owner.change(['u-fails'], async () => {
        throw new Error('store said no');
      }),
    ).rejects.toThrow('store said no');
    expect(await held('u-fails')).toBeUndefined();
    await lookup('u-fails', entry('c1'));
    expect(await held('u-fails')).toEqual(entry('c1'));
  });

  it('lets a change whose end was never recorded (chat-api died) refuse fills until its mark expires', async () => {
    const short = createMembershipDirectory({
      redis: clients[0]!,
      logger,
      ttlMs: 60_000,
      pendingMs: 300,
    });
    // The first step only, as a process killed right after its write would leave it.
    await clients[0]!.eval(
      `redis.call('INCR', KEYS[2]) redis.call('INCR', KEYS[3]) redis.call('PEXPIRE', KEYS[3], 300) return 1`,
      3,
      'cohort:directory:{u-died}:entry',
      'cohort:directory:{u-died}:version',
      'cohort:directory:{u-died}:pending',
    );
    const fillNow = async () => {
      const versions = await short.versions(['u-died']);
      await short.fill(new Map([['u-died', entry('c1')]]), versions!);
    };
    await fillNow();
    expect(await held('u-died')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400));
    await fillNow();
    expect(await held('u-died')).toEqual(entry('c1'));
  });

  it('fills nothing with no lifetime (a reader, or chat-api with the directory off)', async () => {
    expect(await reader.versions(['u-off'])).toBeUndefined();
    await reader.fill(new Map([['u-off', entry('c1')]]), { epoch: '0', byUser: new Map([['u-off', '0']]) });
    expect(await held('u-off')).toBeUndefined();
  });

  it('treats an entry that is not a memberships answer as none', async () => {
    await clients[0]!.set('cohort:directory:{u-junk}:entry', '{"chatIds":"not a list"}');
    await clients[0]!.set('cohort:directory:{u-junk2}:entry', 'not json');
    const found = await reader.read(['u-junk', 'u-junk2']);
    expect(found.size).toBe(0);
  });

  it('with Redis away from chat-api: a change still goes on, and once Redis answers every entry filled before is gone', async () => {
    const { client, directory: cut, cutOff } = await otherProcess();
    for (const userId of ['u-away-1', 'u-away-2']) {
      await cut.fill(new Map([[userId, entry('c1')]]), (await cut.versions([userId]))!);
    }
    expect((await reader.read(['u-away-1', 'u-away-2'])).size).toBe(2);

    // chat-api loses Redis; realtime (the reader) still reaches it.
    await cutOff();
    expect(await cut.versions(['u-away-1'])).toBeUndefined();
    let written = false;
    await cut.change(['u-away-1'], async () => {
      written = true;
    });
    expect(written).toBe(true);
    // The residual: until chat-api reaches Redis again, the entry it could not remove is still read.
    expect(await held('u-away-1')).toEqual(entry('c1'));

    await client.connect();
    await until(async () => (await reader.read(['u-away-1', 'u-away-2'])).size === 0);
    // Lookups after that fill under the new epoch.
    await cut.fill(new Map([['u-away-2', entry('c2')]]), (await cut.versions(['u-away-2']))!);
    expect(await held('u-away-2')).toEqual(entry('c2'));
    cut.close();
  });

  it('ends a change that began with Redis away without ending another change’s pending mark', async () => {
    const { client, directory: cut, cutOff } = await otherProcess();
    const other = changeHeldOpen('u-half');
    await cutOff();
    // Its first step fails; Redis is back before its write ends, so its second step is taken.
    await cut.change(['u-half'], async () => {
      const ready = event(client, 'ready');
      await client.connect();
      await ready;
    });
    // The other change is still being written: no fill yet.
    await lookup('u-half', entry('c-old'));
    expect(await held('u-half')).toBeUndefined();
    other.release();
    await other.done;
    await lookup('u-half', entry('c-new'));
    expect(await held('u-half')).toEqual(entry('c-new'));
    cut.close();
  });

  it('makes every entry unreadable when chat-api starts (invalidateAll)', async () => {
    await lookup('u-start', entry('c1'));
    expect(await held('u-start')).toEqual(entry('c1'));
    await owner.invalidateAll();
    expect(await held('u-start')).toBeUndefined();
  });
});
