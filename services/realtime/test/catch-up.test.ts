import { randomUUID } from 'node:crypto';
import type { Chat, Message } from '@cohort/common';
import type { RunningRealtime } from '../src/main';
import { client, connect, nextEvent, request, type TestClient } from './helpers/clients';
import { metricSum } from './helpers/metrics';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(60_000);

/**
 * Catch-ups answered by the replica (sync/recent-messages.ts) end to end: a real replica, chat-api and auth as
 * processes, one redis-server. The first `chat:sync` of a chat asks chat-api; later ones, from any socket of a
 * member on the replica, are answered from what the bus brought since, and say exactly what chat-api would.
 */
describe('catch-up from the replica (chat:sync)', () => {
  let stack: Stack;
  let replica: RunningRealtime;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let chat: Chat;
  const open: TestClient[] = [];
  const join = async (user: TestUser) => {
    const socket = client(`http://127.0.0.1:${replica.port}`, { token: user.token });
    open.push(socket);
    return connect(socket);
  };
  /** Sync batches chat-api answered (over HTTP or the internal channel). */
  const chatApiSyncs = () =>
    metricSum(
      stack.chatApi.url,
      (l) =>
        (l.startsWith('http_request_duration_seconds_count') ||
          l.startsWith('internal_channel_call_duration_seconds_count')) &&
        l.includes('sync-batches'),
    );
  const answeredBy = (by: 'replica' | 'chat-api') =>
    metricSum(
      `http://127.0.0.1:${replica.port}`,
      (l) => l.startsWith('realtime_syncs_total') && l.includes(`answered_by="${by}"`),
    );
  const sync = async (socket: TestClient, afterSeq: number, limit?: number) => {
    const reply = await request(socket, 'chat:sync', {
      chatId: chat.id,
      afterSeq,
      ...(limit ? { limit } : {}),
    });
    if (!reply.ok) throw new Error(`chat:sync refused: ${reply.error.code}`);
    return reply.messages;
  };
  const send = async (socket: TestClient, text: string, chatId = chat.id): Promise<Message> => {
    const ack = await request(socket, 'chat:send', { chatId, text, clientMsgId: `cu-${randomUUID()}` });
    if (!ack.ok) throw new Error(ack.error.code);
    return ack.message;
  };
  /**
   * A new group of two users, its owner's socket and `memberSockets` of the member, with `texts` sent: once the
   * member's first socket has the last one live, its bus event is behind the replica (a catch-up's page answered
   * while an event of its chat arrives is not kept).
   */
  const freshChat = async (names: [string, string], texts: string[], memberSockets: number) => {
    const owner = await stack.register(names[0]);
    const member = await stack.register(names[1]);
    const created = await stack.createGroup(owner, names.join(' and '), [member]);
    const ownerSocket = await join(owner);
    const members: TestClient[] = [];
    for (let i = 0; i < memberSockets; i += 1) members.push(await join(member));
    const last = nextEvent(members[0]!, 'chat:new', (p) => p.message.text === texts.at(-1));
    for (const text of texts) await send(ownerSocket, text, created.id);
    await last;
    return { chat: created, ownerSocket, members };
  };

  beforeAll(async () => {
    stack = await startStack();
    replica = await stack.startReplica('rt-catch-up');
    alice = await stack.register('alice');
    bob = await stack.register('bob');
    carol = await stack.register('carol');
    chat = await stack.createGroup(alice, 'catch-up', [bob]);
  });

  afterAll(async () => {
    for (const s of open) s.disconnect();
    await stack?.close();
  });

  it('asks chat-api once, then answers every member from what the bus brings, as chat-api would', async () => {
    const aliceSocket = await join(alice);
    const bobFirst = await join(bob);
    // Once bob's socket has the last one live, its bus event is behind the replica: the first catch-up's page is
    // kept (one answered while an event of its chat arrives is not).
    const last = nextEvent(bobFirst, 'chat:new', (p) => p.message.text === 'three');
    for (const text of ['one', 'two', 'three']) await send(aliceSocket, text);
    await last;

    const [syncsBefore, replicaBefore] = [await chatApiSyncs(), await answeredBy('replica')];
    const first = await sync(bobFirst, 0);
    expect(first.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(await chatApiSyncs()).toBe(syncsBefore + 1);

    // Another socket, another member: the same page, without chat-api.
    const bobSecond = await join(bob);
    expect(await sync(bobSecond, 0)).toEqual(first);
    expect(await sync(aliceSocket, 1)).toEqual(first.slice(1));
    expect(await sync(aliceSocket, 3)).toEqual([]);

    // A new message, an edit and a reaction reach the replica over the bus: the next catch-up has them.
    const fourth = await send(aliceSocket, 'four');
    const edited = nextEvent(bobFirst, 'chat:updated', (p) => p.message.id === first[1]!.id);
    await stack.editMessage(alice, chat.id, first[1]!.id, 'two, edited');
    await edited;
    const reacted = nextEvent(bobFirst, 'chat:reactions', (p) => p.messageId === first[0]!.id);
    await stack.chatApiCall(
      bob,
      'PUT',
      `/api/chats/${chat.id}/messages/${first[0]!.id}/reactions/${encodeURIComponent('👍')}`,
    );
    await reacted;
    const fromReplica = await sync(bobSecond, 0);
    expect(fromReplica.map((m) => m.text)).toEqual(['one', 'two, edited', 'three', 'four']);
    expect(fromReplica[3]).toEqual(fourth);
    // Exactly what chat-api answers for the same catch-up.
    expect(fromReplica).toEqual(await stack.listMessages(bob, chat.id, 0));
    expect(await chatApiSyncs()).toBe(syncsBefore + 1);
    expect(await answeredBy('replica')).toBe(replicaBefore + 4);
  });

  it('asks chat-api past the end of a full page, and for anyone not in the chat', async () => {
    const bobSocket = await join(bob);
    const all = await stack.listMessages(bob, chat.id, 0);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const syncsBefore = await chatApiSyncs();
    // The entry the first test left (seq 1–4, complete) answers any page within it.
    expect(await sync(bobSocket, 1, 2)).toEqual(all.slice(1, 3));
    expect(await chatApiSyncs()).toBe(syncsBefore);

    const carolSocket = await join(carol);
    const refused = await request(carolSocket, 'chat:sync', { chatId: chat.id, afterSeq: 0 });
    expect(refused).toEqual({ ok: false, error: expect.objectContaining({ code: 'chat_not_found' }) });
    expect(await chatApiSyncs()).toBe(syncsBefore + 1);

    // Removed from the chat: bob's socket leaves its room with the bus event, and his next catch-up is refused by
    // chat-api rather than answered from the replica.
    const removed = nextEvent(bobSocket, 'chat:removed', (p) => p.chatId === chat.id);
    await stack.removeMember(alice, chat.id, bob);
    await removed;
    const afterRemoval = await request(bobSocket, 'chat:sync', { chatId: chat.id, afterSeq: 0 });
    expect(afterRemoval).toEqual({ ok: false, error: expect.objectContaining({ code: 'chat_not_found' }) });
    expect(await chatApiSyncs()).toBe(syncsBefore + 2);
  });

  it('uses a full page chat-api answered only within it', async () => {
    const { chat: other, members } = await freshChat(['dave', 'erin'], ['a', 'b', 'c'], 1);
    const page = async (afterSeq: number, limit: number) => {
      const reply = await request(members[0]!, 'chat:sync', { chatId: other.id, afterSeq, limit });
      if (!reply.ok) throw new Error(reply.error.code);
      return reply.messages.map((m) => m.text);
    };
    const [syncsBefore, replicaBefore] = [await chatApiSyncs(), await answeredBy('replica')];
    expect(await page(0, 2)).toEqual(['a', 'b']);
    expect(await page(1, 1)).toEqual(['b']);
    expect(await chatApiSyncs()).toBe(syncsBefore + 1);
    expect(await answeredBy('replica')).toBe(replicaBefore + 1);
    // Past the full page: chat-api, which has seq 3; from then on the chat's entry is complete again.
    expect(await page(2, 2)).toEqual(['c']);
    expect(await page(3, 100)).toEqual([]);
    expect(await chatApiSyncs()).toBe(syncsBefore + 2);
    expect(await answeredBy('replica')).toBe(replicaBefore + 2);
  });

  it('lets catch-ups arriving together wait for the one on its way to chat-api', async () => {
    const {
      chat: together,
      ownerSocket: frankSocket,
      members: graceSockets,
    } = await freshChat(['frank', 'grace'], ['x', 'y'], 3);
    const [viaChatApi, viaReplica] = [await answeredBy('chat-api'), await answeredBy('replica')];
    // Emitted in one go: the first asks chat-api, the other three wait for its page instead of asking it too.
    const replies = await Promise.all(
      [frankSocket, ...graceSockets].map((s) =>
        request(s, 'chat:sync', { chatId: together.id, afterSeq: 0 }),
      ),
    );
    for (const reply of replies) {
      if (!reply.ok) throw new Error(reply.error.code);
      expect(reply.messages.map((m) => m.text)).toEqual(['x', 'y']);
    }
    expect(await answeredBy('chat-api')).toBe(viaChatApi + 1);
    expect(await answeredBy('replica')).toBe(viaReplica + 3);
  });
});
