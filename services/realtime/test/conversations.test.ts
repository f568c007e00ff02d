import { randomUUID } from 'node:crypto';
import type { Chat, ChatPage, Message } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import type { RunningRealtime } from '../src/main';
import { client, collect, connect, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';

jest.setTimeout(60_000);

/**
 * DESIGN §8 over real sockets on two replicas: replies, mentions, reactions and renames reach every member socket
 * exactly once and in order, whichever replica each is on, and a member who was offline catches up through
 * `chat:sync` with the same state (replyTo, mentions, the current reaction summaries).
 */
describe('conversations across realtime replicas', () => {
  let stack: Stack;
  let replicas: RunningRealtime[];
  const open: TestClient[] = [];
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let chat: Chat;

  const join = async (user: TestUser, replica: number) => {
    const socket = client(`http://127.0.0.1:${replicas[replica]!.port}`, { token: user.token });
    open.push(socket);
    return connect(socket);
  };
  const send = async (socket: TestClient, payload: Record<string, unknown>): Promise<Message> => {
    const ack = await request(socket, 'chat:send', {
      chatId: chat.id,
      clientMsgId: `c-${randomUUID()}`,
      ...payload,
    });
    if (!ack.ok) throw new Error(`send refused: ${ack.error.code}`);
    return ack.message;
  };
  const react = (user: TestUser, messageId: string, emoji: string, method: 'PUT' | 'DELETE' = 'PUT') =>
    stack.chatApiCall(
      user,
      method,
      `/api/chats/${chat.id}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`,
    );

  beforeAll(async () => {
    stack = await startStack();
    replicas = [await stack.startReplica('rt-a'), await stack.startReplica('rt-b')];
    [alice, bob, carol] = await Promise.all([
      stack.register('alice'),
      stack.register('bob'),
      stack.register('carol'),
    ]);
    chat = await stack.createGroup(alice, 'team', [bob, carol]);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('delivers replies, mentions, reactions and a rename once each, in order, to sockets on both replicas', async () => {
    const [a, b] = [await join(alice, 0), await join(bob, 1)];
    const news = [a, b].map((s) => collect(s, 'chat:new'));
    const reactions = [a, b].map((s) => collect(s, 'chat:reactions'));
    const changes = [a, b].map((s) => collect(s, 'chat:changed'));

    const question = await send(a, { text: 'Who takes the release?' });
    const reply = await send(b, { text: `@alice me`, replyTo: question.id, mentions: [alice.id] });
    expect(reply).toMatchObject({ replyTo: question.id, mentions: [alice.id] });
    await react(alice, reply.id, '👍');
    await react(carol, reply.id, '👍');
    await react(bob, reply.id, '🎉');
    await react(carol, reply.id, '👍', 'DELETE');
    await stack.chatApiCall(alice, 'PATCH', `/api/chats/${chat.id}`, { title: 'release team' });

    // waitFor retries only while its check throws: a boolean is wrapped in expect.
    await waitFor(() =>
      expect(
        news.every((n) => n.length >= 2) &&
          reactions.every((r) => r.length >= 4) &&
          changes.every((c) => c.length >= 1),
      ).toBe(true),
    );
    // The mention counts for alice until she reads past it (her next send moves her read marker).
    const page = (await stack.chatApiCall(alice, 'GET', '/api/chats')) as ChatPage;
    expect(page.chats.find((c) => c.id === chat.id)?.mentionsUnread).toBe(1);
    // Nothing more is on its way: one last message after everything, seen by both.
    const marker = await send(a, { text: 'marker' });
    await waitFor(() => expect(news.every((n) => n.some((p) => p.message.id === marker.id))).toBe(true));

    for (const [i] of [a, b].entries()) {
      expect(news[i]!.map((p) => p.message.id)).toEqual([question.id, reply.id, marker.id]);
      expect(news[i]![1]!.message).toMatchObject({ replyTo: question.id, mentions: [alice.id] });
      const versions = reactions[i]!.map((p) => p.reactionsVersion);
      expect(versions).toEqual([1, 2, 3, 4]);
      expect(reactions[i]![3]).toEqual({
        chatId: chat.id,
        messageId: reply.id,
        reactions: [
          { emoji: '👍', count: 1, userIds: [alice.id] },
          { emoji: '🎉', count: 1, userIds: [bob.id] },
        ],
        reactionsVersion: 4,
      });
      expect(changes[i]!.map((p) => p.chat.title)).toEqual(['release team']);
    }
  });

  it('a member who was offline catches up through chat:sync with replies, mentions and current reactions', async () => {
    const a = await join(alice, 0);
    const before = await send(a, { text: 'before carol left' });
    const replyToIt = await send(a, { text: '@carol look', replyTo: before.id, mentions: [carol.id] });
    await react(bob, replyToIt.id, '👀');
    // carol comes online on the other replica and asks for what she missed.
    const c = await join(carol, 1);
    const ack = await request(c, 'chat:sync', { chatId: chat.id, afterSeq: before.seq - 1 });
    if (!ack.ok) throw new Error(ack.error.code);
    expect(ack.messages.map((m) => m.id)).toEqual([before.id, replyToIt.id]);
    expect(ack.messages[1]).toMatchObject({
      replyTo: before.id,
      mentions: [carol.id],
      reactions: [{ emoji: '👀', count: 1, userIds: [bob.id] }],
      reactionsVersion: 1,
    });
  });
});
