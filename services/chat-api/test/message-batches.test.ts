import type { Message, MessageBatchEntry, MessageBatchResult } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';

// POST /internal/message-batches: realtime's chat:send, many sockets' sends in one request.
let h: Harness;
let register: (name: string) => Promise<ChatClient>;
beforeAll(async () => {
  // With the real auth service: a group with members looks its members up there.
  h = await startHarness({ withAuth: true });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  await h.close();
});

async function entry(userId: string, chatId: string, text: string, clientMsgId = `c-${newId()}`) {
  const value: MessageBatchEntry = {
    identity: await h.identity(userId),
    requestId: `req-${newId()}`,
    chatId,
    text,
    clientMsgId,
  };
  return value;
}

async function postBatch(sends: unknown[]) {
  return h.http().post('/internal/message-batches').send({ sends });
}

const resultsOf = (res: { body: unknown }) => (res.body as { results: MessageBatchResult[] }).results;
const messagesOf = (res: { body: unknown }) => (res.body as { messages: Message[] }).messages;

describe('message batches', () => {
  test('stores each entry under its own sender, in its own chat, and answers per entry in order', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const club = await alice.createGroup('club', [bob.userId]);
    const solo = await bob.createGroup('solo');
    const res = await postBatch([
      await entry(alice.userId, club, 'a1'),
      await entry(bob.userId, club, 'b1'),
      await entry(bob.userId, solo, 's1'),
      await entry(alice.userId, club, 'a2'),
    ]);
    expect(res.status).toBe(200);
    const results = resultsOf(res);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const stored = results.map((r) => ('message' in r ? r.message : undefined));
    expect(stored.map((m) => [m?.text, m?.senderId, m?.chatId])).toEqual([
      ['a1', alice.userId, club],
      ['b1', bob.userId, club],
      ['s1', bob.userId, solo],
      ['a2', alice.userId, club],
    ]);
    const page = messagesOf(await bob.get(`/api/chats/${club}/messages`));
    expect(page.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(page.map((m) => m.text).sort()).toEqual(['a1', 'a2', 'b1']);
    // Published like any send, and recorded: the chat's lastSeq and each sender's read marker moved.
    for (const message of page) {
      expect(await h.recorder.next((e) => e.type === 'chat:new' && e.message.id === message.id)).toEqual({
        type: 'chat:new',
        chatId: club,
        message,
      });
    }
    const chat = (await alice.get(`/api/chats/${club}`)).body as {
      chat: { lastSeq: number; members: { userId: string; lastReadSeq: number }[] };
    };
    expect(chat.chat.lastSeq).toBe(3);
    const lastBy = (userId: string) =>
      Math.max(...page.filter((m) => m.senderId === userId).map((m) => m.seq));
    expect(Object.fromEntries(chat.chat.members.map((m) => [m.userId, m.lastReadSeq]))).toEqual({
      [alice.userId]: lastBy(alice.userId),
      [bob.userId]: lastBy(bob.userId),
    });
  });

  test("one entry's refusal fails only that entry: 401, 404, 400 beside a stored 201", async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const outsider = newId();
    const forged = { ...(await entry(alice.userId, chatId, 'forged')), identity: 'not-a-signed-assertion' };
    const res = await postBatch([
      forged,
      await entry(outsider, chatId, 'let me in'),
      await entry(alice.userId, chatId, '   '),
      await entry(alice.userId, 'not-an-id', 'where'),
      await entry(alice.userId, chatId, 'kept'),
    ]);
    expect(res.status).toBe(200);
    const results = resultsOf(res);
    expect(results.map((r) => [r.status, 'error' in r ? r.error.code : 'stored'])).toEqual([
      [401, 'unauthorized'],
      [404, 'chat_not_found'],
      [400, 'validation_error'],
      [400, 'validation_error'],
      [201, 'stored'],
    ]);
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`)).map((m) => m.text)).toEqual(['kept']);
  });

  test('the same clientMsgId twice in one batch is stored once; both entries get that message', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await postBatch([
      await entry(alice.userId, chatId, 'once', 'dup-1'),
      await entry(alice.userId, chatId, 'once', 'dup-1'),
    ]);
    const results = resultsOf(res);
    expect(results.map((r) => r.status).sort()).toEqual([200, 201]);
    const ids = results.map((r) => ('message' in r ? r.message.id : undefined));
    expect(ids[0]).toBeDefined();
    expect(ids[0]).toBe(ids[1]);
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))).toHaveLength(1);
  });

  test('a malformed envelope is 400 and stores nothing', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const one = await entry(alice.userId, chatId, 'hi');
    for (const body of [
      {},
      { sends: [] },
      { sends: Array.from({ length: 101 }, () => one) },
      { sends: [{ ...one, extra: 1 }] },
    ]) {
      const res = await h.http().post('/internal/message-batches').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))).toEqual([]);
  });
});
