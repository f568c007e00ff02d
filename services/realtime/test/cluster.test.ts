import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisDenylist, type Chat, type Message } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import type { RunningRealtime } from '../src/main';
import {
  client,
  collect,
  connect,
  disconnected,
  nextEvent,
  refusal,
  request,
  type TestClient,
} from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';
import { signAccessToken } from './helpers/tokens';

jest.setTimeout(60_000);

/**
 * Three realtime replicas (in this process) on one real Redis, with auth and chat-api running as processes,
 * and real socket.io-clients spread over the replicas.
 */
describe('realtime replicas on one Redis', () => {
  let stack: Stack;
  let replicas: RunningRealtime[];
  const open: TestClient[] = [];
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let chat: Chat;

  const url = (i: number) => `http://127.0.0.1:${replicas[i % replicas.length]!.port}`;
  const join = async (user: TestUser, replica: number, options: { cookie?: boolean } = {}) => {
    const socket = client(
      url(replica),
      options.cookie ? { cookie: `token=${user.token}` } : { token: user.token },
    );
    open.push(socket);
    return connect(socket);
  };
  const clientMsgId = () => `c-${randomUUID()}`;
  const send = (socket: TestClient, chatId: string, text: string, id = clientMsgId()) =>
    request(socket, 'chat:send', { chatId, text, clientMsgId: id });
  const sent = async (socket: TestClient, chatId: string, text: string, id?: string): Promise<Message> => {
    const ack = await send(socket, chatId, text, id);
    if (!ack.ok) throw new Error(`send refused: ${ack.error.code} ${ack.error.message}`);
    return ack.message;
  };
  const newIn = (chatId: string) => (p: { message: Message }) => p.message.chatId === chatId;

  beforeAll(async () => {
    stack = await startStack();
    replicas = [];
    for (const id of ['rt-a', 'rt-b', 'rt-c']) replicas.push(await stack.startReplica(id));
    [alice, bob, carol] = await Promise.all([
      stack.register('alice'),
      stack.register('bob'),
      stack.register('carol'),
    ]);
    chat = await stack.createGroup(alice, 'team', [bob]);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('delivers every message to every member socket on every replica exactly once, the sender’s other tabs included', async () => {
    const sockets = [
      await join(alice, 0),
      await join(alice, 1),
      await join(bob, 2),
      await join(bob, 0, { cookie: true }),
    ];
    const received = sockets.map((s) => collect(s, 'chat:new'));
    const senders = [sockets[0]!, sockets[2]!];
    const acked = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sent(senders[i % 2]!, chat.id, `hello ${i}`)),
    );
    // A last message: bus delivery is in order per replica, so once it arrives nothing earlier is still on its way.
    const marker = await sent(sockets[1]!, chat.id, 'marker');
    await Promise.all(
      sockets.map((s, i) =>
        received[i]!.some((p) => p.message.id === marker.id)
          ? null
          : nextEvent(s, 'chat:new', (p) => p.message.id === marker.id),
      ),
    );

    const expected = [...acked, marker].map((m) => m.id).sort();
    for (const got of received) {
      const ids = got.filter((p) => p.message.chatId === chat.id).map((p) => p.message.id);
      expect(ids.sort()).toEqual(expected);
    }
    // Acked means stored: every ack is in chat-api's history, with its seq.
    const stored = await stack.listMessages(alice, chat.id, marker.seq - 31);
    expect(stored.map((m) => m.id).sort()).toEqual(expected);
  });

  it('keeps no credential once the handshake is verified, whether it came in the cookie or in auth', async () => {
    const byCookie = await join(carol, 0, { cookie: true });
    const byAuth = await join(carol, 1);
    const serverSocket = (replica: number, clientSocket: TestClient) => {
      const found = replicas[replica]!.io.of('/').sockets.get(clientSocket.id ?? '');
      if (!found) throw new Error('no server socket');
      return found;
    };
    for (const [replica, socket] of [
      [0, byCookie],
      [1, byAuth],
    ] as const) {
      const { handshake, request } = serverSocket(replica, socket);
      expect(handshake.headers.cookie).toBeUndefined();
      expect(handshake.auth).toEqual({});
      const kept = JSON.stringify([handshake, request.headers, request.rawHeaders]);
      expect(kept).not.toContain(carol.token);
    }
    expect(await request(byCookie, 'presence:get', { chatId: chat.id })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });

  it('serves every client event from shared handlers: a socket that used them holds no listener of its own', async () => {
    const socket = await join(alice, 0);
    await sent(socket, chat.id, 'shared handlers');
    expect(await request(socket, 'chat:sync', { chatId: chat.id, afterSeq: 0, limit: 1 })).toMatchObject({
      ok: true,
    });
    expect(await request(socket, 'presence:get', { chatId: chat.id })).toMatchObject({ ok: true });
    const server = replicas[0]!.io.of('/').sockets.get(socket.id ?? '');
    // Its own listeners are the two shared lifecycle functions; no event handler was registered on it.
    expect(server?.eventNames().sort()).toEqual(['disconnecting', 'error']);
  });

  it('delivers a message sent over REST the same way as one sent over a socket', async () => {
    const sockets = [await join(alice, 1), await join(bob, 2)];
    const arrivals = sockets.map((s) => nextEvent(s, 'chat:new', newIn(chat.id)));
    const message = await stack.postMessage(bob, chat.id, 'from REST', clientMsgId());
    for (const p of await Promise.all(arrivals)) expect(p.message).toEqual(message);
  });

  it('answers a retried clientMsgId with the same message and delivers it once', async () => {
    const [sender, receiver] = [await join(alice, 0), await join(bob, 1)];
    const got = collect(receiver, 'chat:new');
    const id = clientMsgId();
    const first = await sent(sender, chat.id, 'only once', id);
    const again = await sent(sender, chat.id, 'only once', id);
    expect(again).toEqual(first);
    const marker = await sent(sender, chat.id, 'marker');
    await waitFor(() => expect(got.some((p) => p.message.id === marker.id)).toBe(true));
    expect(got.filter((p) => p.message.id === first.id)).toHaveLength(1);
  });

  it('acks a send only once stored, and reports chat-api’s refusal for a chat the sender is not in', async () => {
    const outsider = await join(carol, 2);
    const ack = await send(outsider, chat.id, 'let me in');
    // chat-api's own code and message travel to the client unchanged.
    expect(ack).toEqual({
      ok: false,
      error: { code: expect.stringMatching(/not_found$/), message: expect.any(String) },
    });
  });

  it('never delivers to a user outside the chat', async () => {
    const carolsOwn = await stack.createGroup(carol, 'carol only', []);
    const [member, outsider] = [await join(alice, 0), await join(carol, 1)];
    const leaked = collect(outsider, 'chat:new');
    const secret = await sent(member, chat.id, 'private');
    // Bus events reach a replica in publish order: once carol's own later message arrives, the secret one has been handled.
    const own = nextEvent(outsider, 'chat:new', newIn(carolsOwn.id));
    await sent(outsider, carolsOwn.id, 'mine');
    await own;
    expect(leaked.filter((p) => p.message.id === secret.id)).toEqual([]);
  });

  it('joins a user added to a chat on every replica at once, and stops delivering when removed', async () => {
    const group = await stack.createGroup(alice, 'grows', [bob]);
    const owner = await join(alice, 0);
    const tabs = [await join(carol, 1), await join(carol, 2)];
    const added = tabs.map((t) => nextEvent(t, 'chat:added', (p) => p.chat.id === group.id));
    await stack.addMember(alice, group.id, carol);
    for (const p of await Promise.all(added)) expect(p.chat.id).toBe(group.id);

    const arrivals = tabs.map((t) => nextEvent(t, 'chat:new', newIn(group.id)));
    const welcome = await sent(owner, group.id, 'welcome carol');
    for (const p of await Promise.all(arrivals)) expect(p.message.id).toBe(welcome.id);

    const removed = tabs.map((t) => nextEvent(t, 'chat:removed', (p) => p.chatId === group.id));
    await stack.removeMember(alice, group.id, carol);
    await Promise.all(removed);
    const after = tabs.map((t) => collect(t, 'chat:new'));
    const bobSocket = await join(bob, 2);
    const seenByBob = nextEvent(bobSocket, 'chat:new', (p) => p.message.text === 'carol is gone');
    await sent(owner, group.id, 'carol is gone');
    await seenByBob;
    expect(after.flat()).toEqual([]);
    // And carol's typing into the chat she left is refused.
    expect(await request(tabs[0]!, 'chat:typing', { chatId: group.id })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });

  it('relays typing to the rest of the chat room on other replicas, never to outsiders', async () => {
    const [typist, reader, outsider] = [await join(bob, 0), await join(alice, 2), await join(carol, 1)];
    const leaked = collect(outsider, 'chat:typing');
    const echoed = collect(typist, 'chat:typing');
    const seen = nextEvent(reader, 'chat:typing', (p) => p.chatId === chat.id);
    expect(await request(typist, 'chat:typing', { chatId: chat.id })).toEqual({ ok: true });
    expect(await seen).toEqual({ chatId: chat.id, userId: bob.id });
    expect(leaked).toEqual([]);
    expect(echoed).toEqual([]);
  });

  it('marks a chat read through chat-api and relays the marker to the room', async () => {
    const [reader, other] = [await join(alice, 0), await join(bob, 1)];
    const last = await sent(other, chat.id, 'read me');
    const relayed = nextEvent(other, 'chat:read', (p) => p.userId === alice.id && p.seq === last.seq);
    expect(await request(reader, 'chat:read', { chatId: chat.id, seq: last.seq })).toEqual({ ok: true });
    expect(await relayed).toEqual({ chatId: chat.id, userId: alice.id, seq: last.seq });
  });

  it('returns what a client missed with chat:sync, ascending by seq', async () => {
    const socket = await join(alice, 2);
    const before = await sent(socket, chat.id, 'before');
    const missed = [];
    for (let i = 0; i < 3; i++)
      missed.push(await stack.postMessage(bob, chat.id, `missed ${i}`, clientMsgId()));
    const ack = await request(socket, 'chat:sync', { chatId: chat.id, afterSeq: before.seq });
    expect(ack).toEqual({ ok: true, messages: missed });
  });

  it('announces presence once per user across tabs and replicas', async () => {
    const group = await stack.createGroup(alice, 'presence', [carol]);
    const watcher = await join(alice, 0);
    const events = collect(watcher, 'presence');
    const ofCarol = () => events.filter((e) => e.userId === carol.id).map((e) => e.online);

    const tab1 = await join(carol, 1);
    await waitFor(() => expect(ofCarol()).toEqual([true]));
    const tab2 = await join(carol, 2);
    expect(await request(watcher, 'presence:get', { chatId: group.id })).toEqual({
      ok: true,
      online: expect.arrayContaining([alice.id, carol.id]),
    });

    const tab1Id = tab1.id;
    tab1.disconnect();
    await waitFor(() => expect(replicas[1]!.io.of('/').sockets.has(tab1Id ?? '')).toBe(false));
    expect(await request(watcher, 'presence:get', { chatId: group.id })).toMatchObject({
      ok: true,
      online: expect.arrayContaining([carol.id]),
    });
    tab2.disconnect();
    await waitFor(() => expect(ofCarol()).toEqual([true, false]));
    await join(carol, 1);
    await waitFor(() => expect(ofCarol()).toEqual([true, false, true]));
  });

  it('disconnects a logged-out session’s sockets on every replica within a second, and only that session’s', async () => {
    const session = await stack.register('dave');
    const other = await join(bob, 0);
    const tabs = [await join(session, 0), await join(session, 1), await join(session, 2)];
    const gone = tabs.map((t) => disconnected(t, 1000));
    const t0 = Date.now();
    await stack.logout(session);
    expect(await Promise.all(gone)).toEqual([
      'io server disconnect',
      'io server disconnect',
      'io server disconnect',
    ]);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(other.connected).toBe(true);
    expect(await refusal(client(url(1), { token: session.token }))).toBe('unauthorized');
  });

  it('disconnects a revoked session even when the revocation message never arrived (periodic denylist check)', async () => {
    const checking = await stack.startReplica('rt-check', { REVOCATION_CHECK_MS: '200' });
    const user = await stack.register('erin');
    const socket = client(`http://127.0.0.1:${checking.port}`, { token: user.token });
    open.push(socket);
    await connect(socket);
    const gone = disconnected(socket, 3000);
    // Written straight to the shared denylist, as auth does, but with no session:revoked on the bus.
    const redis = new Redis(stack.redis.url);
    try {
      await createRedisDenylist(redis).revoke(user.claims.sessionId, user.claims.expiresAt);
    } finally {
      await redis.quit();
    }
    expect(await gone).toBe('io server disconnect');
  });

  it('exposes connected sockets, events in/out and send→ack latency on /metrics', async () => {
    const socket = await join(alice, 2);
    await sent(socket, chat.id, 'measured');
    const text = await (await fetch(`${url(2)}/metrics`)).text();
    // Lines look like `name{label="…",service="realtime",replica="rt-c"} 3`.
    const value = (name: string, label = '') =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${name}{`) && l.includes(label))
          ?.split(' ')
          .pop(),
      );
    expect(value('realtime_connected_sockets')).toBeGreaterThanOrEqual(1);
    expect(value('realtime_events_in_total', 'event="chat:send"')).toBeGreaterThanOrEqual(1);
    expect(value('realtime_events_out_total', 'event="chat:new"')).toBeGreaterThanOrEqual(1);
    expect(value('realtime_send_ack_seconds_count', 'outcome="ok"')).toBeGreaterThanOrEqual(1);
  });

  it('disconnects a socket when its token expires, unless the client re-authenticates in time', async () => {
    const short = await signAccessToken(stack.keys, { userId: carol.id, expiresIn: 2 });
    const expiring = client(url(0), { token: short });
    const refreshed = client(url(1), { token: short });
    open.push(expiring, refreshed);
    await Promise.all([connect(expiring), connect(refreshed)]);
    const expiredNotice = nextEvent(expiring, 'auth:expired', () => true, 5000);
    const closed = disconnected(expiring, 5000);

    const otherUser = await signAccessToken(stack.keys, { userId: bob.id });
    expect(await request(refreshed, 'auth:refresh', { token: otherUser })).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
    const fresh = await signAccessToken(stack.keys, { userId: carol.id, expiresIn: 600 });
    expect(await request(refreshed, 'auth:refresh', { token: fresh })).toEqual({
      ok: true,
      expiresAt: expect.any(Number),
    });

    expect(await expiredNotice).toEqual({ reason: 'expired' });
    expect(await closed).toBe('io server disconnect');
    expect(refreshed.connected).toBe(true);
    expect(await request(refreshed, 'chat:typing', { chatId: chat.id })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });
});
