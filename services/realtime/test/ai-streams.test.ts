import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  createRedisAiStreamStore,
  createRedisBus,
  type AiControlEvent,
  type AiStreamStore,
  type Chat,
  type EventBus,
} from '@cohort/common';
import { testLogger, waitFor } from '@cohort/testkit';
import type { RunningRealtime } from '../src/main';
import { client, collect, connect, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(60_000);

/**
 * The assistant's streams through realtime (DESIGN §7): two replicas on one Redis relay `ai:delta` from the bus to
 * every member socket once, in order; `ai:resume` and `ai:stop` answer on any replica from the Redis stream store,
 * only for streams of a chat the socket's user is in. The assistant's side is played with the same libs/common
 * pieces the assistant service writes with (the bus and the stream store on the same Redis).
 */
describe('assistant streams through realtime replicas', () => {
  let stack: Stack;
  let replicas: RunningRealtime[];
  let bus: EventBus;
  let streams: AiStreamStore;
  const connections: Redis[] = [];
  const open: TestClient[] = [];
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let team: Chat;
  let other: Chat;

  const join = async (user: TestUser, replica: number) => {
    const socket = client(`http://127.0.0.1:${replicas[replica]!.port}`, { token: user.token });
    open.push(socket);
    return connect(socket);
  };
  const streamId = () => `s${randomUUID().replace(/-/g, '')}`;
  const publishDelta = (chatId: string, id: string, index: number, delta: string) =>
    bus.publish('ai-events', {
      type: 'ai:delta',
      chatId,
      streamId: id,
      replyTo: 'a'.repeat(24),
      index,
      delta,
    });

  beforeAll(async () => {
    stack = await startStack();
    replicas = [await stack.startReplica('rt-a'), await stack.startReplica('rt-b')];
    const publisher = new Redis(stack.redis.url);
    const subscriber = new Redis(stack.redis.url);
    connections.push(publisher, subscriber);
    bus = createRedisBus({ publisher, subscriber, logger: testLogger('assistant-side') });
    streams = createRedisAiStreamStore(publisher);
    [alice, bob, carol] = await Promise.all([
      stack.register('alice'),
      stack.register('bob'),
      stack.register('carol'),
    ]);
    team = await stack.createGroup(alice, 'team', [bob]);
    other = await stack.createGroup(carol, 'other', [alice]);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await stack?.close();
    for (const c of connections) c.disconnect();
  });

  it('relays each delta to every member socket on every replica once, in index order, and to no one else', async () => {
    const [a, b, c] = [await join(alice, 0), await join(bob, 1), await join(carol, 0)];
    const got = [a, b, c].map((s) => collect(s, 'ai:delta'));
    const id = streamId();
    const parts = ['Hel', 'lo ', 'wor', 'ld', '!'];
    for (const [i, part] of parts.entries()) await publishDelta(team.id, id, i, part);
    // A delta published twice (a retried publish) reaches nobody twice.
    await publishDelta(team.id, id, 2, 'wor');
    // waitFor retries only while its check throws: a boolean is wrapped in expect.
    await waitFor(() => expect(got[0]!.length >= 5 && got[1]!.length >= 5).toBe(true));
    // One more stream's delta: delivery is in order per replica, so after it nothing earlier is on its way.
    const marker = streamId();
    await publishDelta(team.id, marker, 0, 'x');
    await waitFor(() =>
      expect(got[0]!.some((d) => d.streamId === marker) && got[1]!.some((d) => d.streamId === marker)).toBe(
        true,
      ),
    );
    for (const received of got.slice(0, 2)) {
      const mine = received.filter((d) => d.streamId === id);
      expect(mine.map((d) => d.index)).toEqual([0, 1, 2, 3, 4]);
      expect(mine.map((d) => d.delta).join('')).toBe('Hello world!');
      expect(mine[0]).toMatchObject({ chatId: team.id, replyTo: 'a'.repeat(24) });
    }
    expect(got[2]).toEqual([]);
  });

  it('answers ai:resume on any replica from the shared store, from any index, and says when the stream ended', async () => {
    const id = streamId();
    await streams.open(id, { chatId: team.id, replyTo: 'b'.repeat(24) });
    await streams.append(id, ['one ', 'two ']);
    await streams.append(id, ['three']);
    const [a, b] = [await join(alice, 0), await join(bob, 1)];
    expect(await request(a, 'ai:resume', { chatId: team.id, streamId: id, afterIndex: -1 })).toEqual({
      ok: true,
      deltas: [
        { index: 0, delta: 'one ' },
        { index: 1, delta: 'two ' },
        { index: 2, delta: 'three' },
      ],
      ended: false,
    });
    await streams.end(id);
    expect(await request(b, 'ai:resume', { chatId: team.id, streamId: id, afterIndex: 1 })).toEqual({
      ok: true,
      deltas: [{ index: 2, delta: 'three' }],
      ended: true,
    });
  });

  it('refuses resume and stop of a stream the socket may not see, alike for every reason, and bad payloads', async () => {
    const id = streamId();
    await streams.open(id, { chatId: team.id, replyTo: 'c'.repeat(24) });
    await streams.append(id, ['secret']);
    const [a, c] = [await join(alice, 0), await join(carol, 1)];
    const notFound = { ok: false, error: { code: 'stream_not_found', message: expect.any(String) } };
    // carol is not in the team chat.
    expect(await request(c, 'ai:resume', { chatId: team.id, streamId: id, afterIndex: -1 })).toEqual(
      notFound,
    );
    expect(await request(c, 'ai:stop', { chatId: team.id, streamId: id })).toEqual(notFound);
    // carol names a chat she is in, with the team's stream id.
    expect(await request(c, 'ai:resume', { chatId: other.id, streamId: id, afterIndex: -1 })).toEqual(
      notFound,
    );
    // alice is in both chats, but the stream is not the other chat's.
    expect(await request(a, 'ai:resume', { chatId: other.id, streamId: id, afterIndex: -1 })).toEqual(
      notFound,
    );
    expect(await request(a, 'ai:resume', { chatId: team.id, streamId: streamId(), afterIndex: -1 })).toEqual(
      notFound,
    );
    const invalid = await request(a, 'ai:resume', {
      chatId: team.id,
      streamId: { $gt: '' },
      afterIndex: -1,
    } as never);
    expect(invalid).toMatchObject({ ok: false, error: { code: 'validation_error' } });
    const negative = await request(a, 'ai:resume', { chatId: team.id, streamId: id, afterIndex: -2 });
    expect(negative).toMatchObject({ ok: false, error: { code: 'validation_error' } });
  });

  it('turns a member’s ai:stop into an ai-control stop on the bus, once the stream is known to be open', async () => {
    const stops: AiControlEvent[] = [];
    const unsubscribe = await bus.subscribe('ai-control', (event) => stops.push(event));
    try {
      const id = streamId();
      await streams.open(id, { chatId: team.id, replyTo: 'd'.repeat(24) });
      const b = await join(bob, 1);
      expect(await request(b, 'ai:stop', { chatId: team.id, streamId: id })).toEqual({ ok: true });
      await waitFor(() => expect(stops).toHaveLength(1));
      expect(stops[0]).toEqual({ type: 'ai:stop', chatId: team.id, streamId: id, userId: bob.id });
      // Stopping an ended stream is answered, and asks nothing of the assistant.
      await streams.end(id);
      expect(await request(b, 'ai:stop', { chatId: team.id, streamId: id })).toEqual({ ok: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(stops).toHaveLength(1);
    } finally {
      await unsubscribe();
    }
  });
});
