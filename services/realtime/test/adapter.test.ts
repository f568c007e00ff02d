import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { startRedisServer, testLogger, waitFor, type RedisServer } from '@cohort/testkit';
import { createRedisAdapter } from '../src/adapter';
import { isUserRoom } from '../src/socket-types';

const PREFIX = 'adapter-test';
const NAMESPACE_CHANNEL = `${PREFIX}#/#`;

interface Replica {
  io: Server;
  url: string;
  /** The connection its broadcasts are published on. */
  pubClient: Redis;
  close(): Promise<void>;
}

/** A Socket.IO server on the sharded adapter, whose sockets join the rooms their client names in `auth.rooms`. */
async function startReplica(redisUrl: string): Promise<Replica> {
  const pubClient = new Redis(redisUrl);
  const subClient = new Redis(redisUrl);
  const httpServer = createServer();
  const io = new Server(httpServer, {
    adapter: createRedisAdapter({
      mode: 'sharded',
      pubClient,
      subClient,
      logger: testLogger('adapter'),
      channelPrefix: PREFIX,
      withoutChannel: isUserRoom,
    }),
  });
  io.on('connection', (socket) => {
    const rooms: unknown = (socket.handshake.auth as { rooms?: unknown }).rooms;
    void Promise.resolve(socket.join(Array.isArray(rooms) ? rooms.map(String) : [])).then(() =>
      socket.emit('joined'),
    );
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    io,
    url: `http://127.0.0.1:${port}`,
    pubClient,
    async close() {
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      await Promise.all([pubClient.quit(), subClient.quit()]);
    },
  };
}

describe('the sharded Redis adapter with user rooms on the namespace channel (real redis-server)', () => {
  let server: RedisServer;
  let redis: Redis;
  let a: Replica;
  let b: Replica;
  const clients: ClientSocket[] = [];

  /** A client of `replica` whose socket is in `rooms` once this resolves. */
  const join = async (replica: Replica, rooms: string[]): Promise<ClientSocket> => {
    const client = connect(replica.url, { transports: ['websocket'], auth: { rooms }, reconnection: false });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('joined', () => resolve());
      client.once('connect_error', reject);
    });
    return client;
  };
  const shardChannels = async () => (await redis.call('PUBSUB', 'SHARDCHANNELS')) as string[];
  const subscribers = async (channel: string) =>
    Number(((await redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
  /** The arguments of the client's next `event`; rejects after 5 s (a broadcast that went nowhere). */
  const next = (client: ClientSocket, event: string) =>
    new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
      client.once(event, (...args: unknown[]) => {
        clearTimeout(timer);
        resolve(args);
      });
    });

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  beforeEach(async () => {
    [a, b] = await Promise.all([startReplica(server.url), startReplica(server.url)]);
    // Each adapter subscribes to the namespace channel (and its own response channel) as it is created.
    await waitFor(async () => expect(await subscribers(NAMESPACE_CHANNEL)).toBe(2));
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await Promise.all([a.close(), b.close()]);
  });
  afterAll(async () => {
    await redis.quit();
    await server.close();
  });

  it('subscribes to a chat room’s channel when its first socket joins, never to a user room’s', async () => {
    const client = await join(a, ['user:u1', 'chat:c1']);
    await join(b, ['user:u2', 'chat:c1']);
    await waitFor(async () => expect(await subscribers(`${NAMESPACE_CHANNEL}chat:c1#`)).toBe(2));
    expect((await shardChannels()).filter((channel) => channel.includes('user:'))).toEqual([]);

    client.disconnect();
    await waitFor(async () => expect(await subscribers(`${NAMESPACE_CHANNEL}chat:c1#`)).toBe(1));
  });

  it('delivers a broadcast to a user room alone to that user’s sockets on another replica', async () => {
    const there = await join(b, ['user:u1']);
    const elsewhere = await join(b, ['user:u2']);
    let strayed = false;
    elsewhere.on('hello', () => {
      strayed = true;
    });
    const heard = next(there, 'hello');
    a.io.to('user:u1').emit('hello', 'to u1');
    expect(await heard).toEqual(['to u1']);

    // Broadcasts from one replica reach another in order: once u2 has the next one, it had any earlier one.
    const last = next(elsewhere, 'everyone');
    a.io.emit('everyone');
    await last;
    expect(strayed).toBe(false);
  });

  it('publishes the broadcasts of one turn in one write, and they arrive in order', async () => {
    const member = await join(b, ['user:u1', 'chat:c1']);
    await waitFor(async () => expect(await subscribers(`${NAMESPACE_CHANNEL}chat:c1#`)).toBe(1));
    const heard: string[] = [];
    member.on('said', (text: string) => heard.push(text));
    const last = new Promise<void>((resolve) => member.on('done', () => resolve()));
    const writes = jest.spyOn(a.pubClient.stream, 'write');
    const said = ['one', 'two', 'three', 'four'];
    for (const text of said) a.io.to('chat:c1').emit('said', text);
    a.io.to('user:u1').emit('said', 'five');
    a.io.to('chat:c1').emit('done');
    await last;
    // Counted once everything arrived (the publishes were written by then), the adapter's heartbeats left out.
    const publishes = writes.mock.calls.filter(([chunk]) => String(chunk).includes('said'));
    writes.mockRestore();
    expect(publishes).toHaveLength(1);
    expect(heard).toEqual([...said, 'five']);
  });

  it('still leaves out the sockets of an excepted user room on another replica', async () => {
    const excepted = await join(b, ['user:u1', 'chat:c1']);
    const member = await join(b, ['user:u2', 'chat:c1']);
    await waitFor(async () => expect(await subscribers(`${NAMESPACE_CHANNEL}chat:c1#`)).toBe(1));
    const seenByExcepted: string[] = [];
    excepted.on('typing', (who: string) => seenByExcepted.push(who));
    const memberHeard = next(member, 'typing');
    a.io.to('chat:c1').except('user:u1').emit('typing', 'u1');
    expect(await memberHeard).toEqual(['u1']);

    // Same channel, same order: the excepted socket gets the second broadcast and never got the first.
    const both = next(excepted, 'typing');
    a.io.to('chat:c1').emit('typing', 'u3');
    await both;
    expect(seenByExcepted).toEqual(['u3']);
  });
});
