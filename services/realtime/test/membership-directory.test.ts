import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger, createMembershipDirectory } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import type { RunningRealtime } from '../src/main';
import { client, collect, connect, nextEvent, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(60_000);
const logger = createLogger({ service: 'test', level: 'silent' });

/**
 * The membership directory end to end: a real replica, chat-api and auth as processes, one redis-server. chat-api
 * fills a user's entry when it answers their handshake's lookup and removes it with every membership or block
 * change; the next handshake of a returning user is answered from it without asking chat-api.
 */
describe('handshakes of returning users (the membership directory)', () => {
  let stack: Stack;
  let replica: RunningRealtime;
  let redis: Redis;
  const open: TestClient[] = [];
  const entryKey = (user: TestUser) => `cohort:directory:{${user.id}}:entry`;
  const join = async (user: TestUser) => {
    const socket = client(`http://127.0.0.1:${replica.port}`, { token: user.token });
    open.push(socket);
    return connect(socket);
  };
  const leave = (socket: TestClient) => {
    socket.disconnect();
    open.splice(open.indexOf(socket), 1);
  };
  /** Lookups chat-api has answered (its request metric for the batch route). */
  const lookupsAnswered = async () => {
    const text = await (await fetch(`${stack.chatApi.url}/metrics`)).text();
    return (
      text
        .split('\n')
        // Over HTTP or over the internal channel, whichever carried the batch.
        .filter(
          (l) =>
            (l.startsWith('http_request_duration_seconds_count') ||
              l.startsWith('internal_channel_call_duration_seconds_count')) &&
            l.includes('membership-batches'),
        )
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
    );
  };
  /** Handshakes of the replica whose memberships came from `source` (its metric). */
  const handshakesFrom = async (source: 'directory' | 'chat-api') => {
    const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('realtime_handshake_memberships_total') && l.includes(`source="${source}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  /** What realtime reads for `user` (undefined: not held). */
  const heldFor = async (user: TestUser) =>
    (await createMembershipDirectory({ redis, logger }).read([user.id])).get(user.id);
  /** chat-api fills behind its answer: the entry appears shortly after the handshake. */
  const filled = (user: TestUser) =>
    waitFor(async () => {
      if (!(await heldFor(user))) throw new Error(`no entry for ${user.email}`);
    }, 5000);
  const send = async (socket: TestClient, chatId: string, text: string) => {
    const ack = await request(socket, 'chat:send', { chatId, text, clientMsgId: `c-${randomUUID()}` });
    if (!ack.ok) throw new Error(`send refused: ${ack.error.code}`);
    return ack.message;
  };

  beforeAll(async () => {
    stack = await startStack();
    replica = await stack.startReplica('rt-dir');
    redis = new Redis(stack.redis.url);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  it('answers a returning user from chat-api’s last answer: the same rooms, and no lookup', async () => {
    const [alice, bob] = await Promise.all([stack.register('dir-alice'), stack.register('dir-bob')]);
    const chat = await stack.createGroup(alice, 'returning', [bob]);
    leave(await join(bob));
    await filled(bob);
    expect(await heldFor(bob)).toEqual({
      chatIds: [chat.id],
      blockPartners: [],
    });

    const before = await lookupsAnswered();
    const fromDirectory = await handshakesFrom('directory');
    const again = await join(bob);
    expect(await lookupsAnswered()).toBe(before);
    // The replica counts where the handshake's memberships came from (realtime_handshake_memberships_total).
    expect(await handshakesFrom('directory')).toBe(fromDirectory + 1);
    const owner = await join(alice);
    const arrives = nextEvent(again, 'chat:new', (p) => p.message.chatId === chat.id);
    const sent = await send(owner, chat.id, 'welcome back');
    expect((await arrives).message.id).toBe(sent.id);
  });

  it('never joins a returning user to a chat they were removed from while away', async () => {
    const [alice, carol, dave] = await Promise.all([
      stack.register('dir-alice2'),
      stack.register('dir-carol'),
      stack.register('dir-dave'),
    ]);
    const chat = await stack.createGroup(alice, 'shrinks', [carol, dave]);
    leave(await join(carol));
    await filled(carol);

    await stack.removeMember(alice, chat.id, carol);
    // The removal took the entry away with it: carol's next handshake asks chat-api.
    expect(await redis.get(entryKey(carol))).toBeNull();
    const before = await lookupsAnswered();
    const back = await join(carol);
    expect(await lookupsAnswered()).toBe(before + 1);
    const seenByCarol = collect(back, 'chat:new');
    const witness = await join(dave);
    const seenByDave = nextEvent(witness, 'chat:new', (p) => p.message.text === 'carol is gone');
    await send(await join(alice), chat.id, 'carol is gone');
    await seenByDave;
    expect(seenByCarol).toEqual([]);
    // What chat-api filled on that lookup is the store's answer after the removal.
    await filled(carol);
    expect(await heldFor(carol)).toEqual({ chatIds: [], blockPartners: [] });
  });

  it('removes both users’ entries when one blocks or unblocks the other, and adds a joining member’s', async () => {
    const [erin, frank, gina] = await Promise.all([
      stack.register('dir-erin'),
      stack.register('dir-frank'),
      stack.register('dir-gina'),
    ]);
    const chat = await stack.createGroup(erin, 'blocks', [frank]);
    const lookedUp = async (...users: TestUser[]) => {
      for (const user of users) leave(await join(user));
      await Promise.all(users.map(filled));
    };

    await lookedUp(erin, frank, gina);
    await stack.block(erin, frank);
    expect(await redis.get(entryKey(erin))).toBeNull();
    expect(await redis.get(entryKey(frank))).toBeNull();
    expect(await redis.get(entryKey(gina))).not.toBeNull();
    await lookedUp(erin, frank);
    expect(await heldFor(frank)).toEqual({
      chatIds: [chat.id],
      blockPartners: [erin.id],
    });

    await stack.unblock(erin, frank);
    expect(await redis.get(entryKey(erin))).toBeNull();
    expect(await redis.get(entryKey(frank))).toBeNull();

    await stack.addMember(erin, chat.id, gina);
    expect(await redis.get(entryKey(gina))).toBeNull();
    const joined = await join(gina);
    const arrives = nextEvent(joined, 'chat:new', (p) => p.message.text === 'hi gina');
    await send(await join(erin), chat.id, 'hi gina');
    await arrives;
  });
});
