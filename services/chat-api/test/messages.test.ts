import { IDENTITY_HEADER, type Message } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const messagesOf = (res: { body: unknown }) => (res.body as { messages: Message[] }).messages;
const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;

describe('sending', () => {
  test('stores a message with seq 1, trimmed text, and answers 201', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.send(chatId, '  hello <b>world</b>  ', 'first');
    expect(res.status).toBe(201);
    expect(messageOf(res)).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      chatId,
      seq: 1,
      senderId: alice.userId,
      text: 'hello <b>world</b>',
      clientMsgId: 'first',
      createdAt: expect.any(String),
      version: 1,
    });
  });

  test('publishes chat:new with the stored message', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'hi'));
    const event = await h.recorder.next((e) => e.type === 'chat:new' && e.chatId === chatId);
    expect(event).toEqual({ type: 'chat:new', chatId, message: sent });
  });

  test('accepts 4000 characters and refuses 4001', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    expect((await alice.send(chatId, 'x'.repeat(4000))).status).toBe(201);
    const res = await alice.send(chatId, 'x'.repeat(4001));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  });

  test('accepts 4000 non-ASCII characters sent as \\u escapes (24 KB of JSON)', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const text = '漢'.repeat(4000);
    const body = JSON.stringify({ text, clientMsgId: 'escaped' }).replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect(body.length).toBeGreaterThan(24_000);
    const res = await h
      .http()
      .post(`/api/chats/${chatId}/messages`)
      .set(IDENTITY_HEADER, await h.identity(alice.userId))
      .set('content-type', 'application/json')
      .send(body);
    expect(res.status).toBe(201);
    expect(messageOf(res).text).toBe(text);
  });

  test('counts the limit after trimming', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.send(chatId, `   ${'y'.repeat(4000)}   `);
    expect(res.status).toBe(201);
    expect(messageOf(res).text).toHaveLength(4000);
  });

  test.each([[''], ['   '], ['\n\t ']])('refuses blank text %j with 400', async (text) => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.send(chatId, text);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  });

  test.each([
    [{ text: { $gt: '' }, clientMsgId: 'a' }],
    [{ text: 'hi', clientMsgId: { $ne: null } }],
    [{ text: 'hi' }],
    [{ text: 'hi', clientMsgId: 'a', senderId: newId() }],
    [{ text: 'hi', clientMsgId: 'has space' }],
  ])('refuses the body %j with 400', async (body) => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.post(`/api/chats/${chatId}/messages`, body);
    expect(res.status).toBe(400);
  });

  test('refuses a chat id that is not an id with 400', async () => {
    const alice = new ChatClient(h, newId());
    const res = await alice.send('not-an-id', 'hi');
    expect(res.status).toBe(400);
  });

  test('a non-member cannot post: 404 and nothing stored', async () => {
    const alice = new ChatClient(h, newId());
    const mallory = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await mallory.send(chatId, 'let me in');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('chat_not_found');
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))).toEqual([]);
  });

  test('a chat that does not exist is the same 404', async () => {
    const alice = new ChatClient(h, newId());
    const res = await alice.send(newId(), 'hi');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('chat_not_found');
  });
});

describe('idempotent sends', () => {
  test('a retried clientMsgId answers 200 with the same message and publishes nothing new', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const first = await alice.send(chatId, 'once', 'retry-me');
    const again = await alice.send(chatId, 'once (retried)', 'retry-me');
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(messageOf(again)).toEqual(messageOf(first));
    // A later message's event arriving proves the retry published nothing: one connection keeps publish order.
    const sentinel = messageOf(await alice.send(chatId, 'sentinel'));
    await h.recorder.next((e) => e.type === 'chat:new' && e.message.id === sentinel.id);
    expect(
      h.recorder
        .ofChat(chatId)
        .filter((e) => e.type === 'chat:new')
        .map((e) => e.type === 'chat:new' && e.message.seq),
    ).toEqual([1, 2]);
    expect(sentinel.seq).toBe(2);
  });

  test('concurrent retries of one clientMsgId store one message and publish one event', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => alice.send(chatId, 'burst', 'same-id')),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    const ids = new Set(answers.map((r) => messageOf(r).id));
    expect(ids.size).toBe(1);
    const sentinel = messageOf(await alice.send(chatId, 'sentinel'));
    expect(sentinel.seq).toBe(2);
    await h.recorder.next((e) => e.type === 'chat:new' && e.message.id === sentinel.id);
    expect(h.recorder.ofChat(chatId).filter((e) => e.type === 'chat:new')).toHaveLength(2);
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`)).map((m) => m.seq)).toEqual([1, 2]);
  });

  test('retries mixed with new sends in one burst: every new message once, every retry the original', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 1
          ? alice.send(chatId, 'retried', 'mixed-retry')
          : alice.send(chatId, `new ${i}`, `mixed-${i}`),
      ),
    );
    const retries = answers.filter((_, i) => i % 3 === 1);
    expect(new Set(retries.map((r) => messageOf(r).id)).size).toBe(1);
    expect(answers.filter((r) => r.status === 201)).toHaveLength(21);
    const listed = messagesOf(await alice.get(`/api/chats/${chatId}/messages`));
    expect(listed.map((m) => m.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(listed.filter((m) => m.clientMsgId === 'mixed-retry')).toHaveLength(1);
  });

  test('the same clientMsgId from two different senders is two messages', async () => {
    const alice = new ChatClient(h, newId());
    const chatA = await alice.createGroup();
    const chatB = await alice.createGroup();
    // Scoped per chat as well: the same sender may reuse an id in another chat.
    expect((await alice.send(chatA, 'a', 'shared')).status).toBe(201);
    expect((await alice.send(chatB, 'b', 'shared')).status).toBe(201);
  });
});

describe('listing', () => {
  let alice: ChatClient;
  let chatId: string;
  beforeAll(async () => {
    alice = new ChatClient(h, newId());
    chatId = await alice.createGroup('history');
    for (let i = 1; i <= 120; i++) {
      const res = await alice.send(chatId, `m${i}`, `hist-${i}`);
      expect(res.status).toBe(201);
    }
  });

  const seqs = (res: { body: unknown }) => messagesOf(res).map((m) => m.seq);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  test('without a cursor returns the newest 50 ascending', async () => {
    const res = await alice.get(`/api/chats/${chatId}/messages`);
    expect(res.status).toBe(200);
    expect(seqs(res)).toEqual(range(71, 120));
  });

  test('before=X returns the limit messages just below X, ascending', async () => {
    expect(seqs(await alice.get(`/api/chats/${chatId}/messages?before=71&limit=10`))).toEqual(range(61, 70));
    expect(seqs(await alice.get(`/api/chats/${chatId}/messages?before=5&limit=10`))).toEqual(range(1, 4));
  });

  test('after=X returns the limit messages just above X, ascending', async () => {
    expect(seqs(await alice.get(`/api/chats/${chatId}/messages?after=0&limit=3`))).toEqual([1, 2, 3]);
    expect(seqs(await alice.get(`/api/chats/${chatId}/messages?after=115`))).toEqual(range(116, 120));
    expect(seqs(await alice.get(`/api/chats/${chatId}/messages?after=120`))).toEqual([]);
  });

  test('limit 100 is the maximum page', async () => {
    expect(seqs(await alice.get(`/api/chats/${chatId}/messages?limit=100`))).toEqual(range(21, 120));
  });

  test.each([
    ['limit=101'],
    ['limit=0'],
    ['limit=abc'],
    ['before=-1'],
    ['before=1&after=2'],
    ['limit=5&limit=6'],
    ['after=1.5'],
  ])('refuses ?%s with 400', async (query) => {
    const res = await alice.get(`/api/chats/${chatId}/messages?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  });

  test('a bracketed query key never becomes an operator: it is an unknown key, ignored', async () => {
    // Express 5's simple query parser keeps `before[$gt]` a plain string key, so nothing object-shaped reaches Mongo.
    const res = await alice.get(`/api/chats/${chatId}/messages?before[$gt]=1&limit=3`);
    expect(res.status).toBe(200);
    expect(seqs(res)).toEqual([118, 119, 120]);
  });

  test('a non-member cannot read: 404', async () => {
    const mallory = new ChatClient(h, newId());
    const res = await mallory.get(`/api/chats/${chatId}/messages`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('chat_not_found');
  });
});

describe('edit and delete', () => {
  test('the sender edits: 200 with editedAt, chat:updated published', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'typo'));
    const res = await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: '  fixed  ' });
    expect(res.status).toBe(200);
    expect(messageOf(res)).toEqual({ ...sent, text: 'fixed', editedAt: expect.any(String), version: 2 });
    const event = await h.recorder.next((e) => e.type === 'chat:updated' && e.chatId === chatId);
    expect(event).toEqual({ type: 'chat:updated', chatId, message: messageOf(res) });
  });

  test('edit refuses blank and too-long text', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'x'));
    expect((await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: '  ' })).status).toBe(400);
    expect(
      (await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'z'.repeat(4001) })).status,
    ).toBe(400);
    expect(
      (await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: { $set: 'x' } })).status,
    ).toBe(400);
  });

  test('the sender soft-deletes: 204, text removed, seq kept, deletedAt set, chat:deleted published', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'regret'));
    await alice.send(chatId, 'after');
    const res = await alice.delete(`/api/chats/${chatId}/messages/${sent.id}`);
    expect(res.status).toBe(204);
    const listed = messagesOf(await alice.get(`/api/chats/${chatId}/messages`));
    expect(listed.map((m) => m.seq)).toEqual([1, 2]);
    expect(listed[0]).toEqual({ ...sent, text: '', deletedAt: expect.any(String), version: 2 });
    const event = await h.recorder.next((e) => e.type === 'chat:deleted' && e.chatId === chatId);
    expect(event).toEqual({ type: 'chat:deleted', chatId, message: listed[0] });
  });

  test('deleting twice is 204 both times; editing a deleted message is 409', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'gone'));
    expect((await alice.delete(`/api/chats/${chatId}/messages/${sent.id}`)).status).toBe(204);
    expect((await alice.delete(`/api/chats/${chatId}/messages/${sent.id}`)).status).toBe(204);
    const edit = await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'back' });
    expect(edit.status).toBe(409);
    expect(edit.body.error.code).toBe('message_deleted');
  });

  test('a non-member can neither edit nor delete: 404, message untouched', async () => {
    const alice = new ChatClient(h, newId());
    const mallory = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'mine'));
    expect((await mallory.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'pwned' })).status).toBe(
      404,
    );
    expect((await mallory.delete(`/api/chats/${chatId}/messages/${sent.id}`)).status).toBe(404);
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))).toEqual([sent]);
  });

  test('a message id from another chat is 404 even for a member of both', async () => {
    const alice = new ChatClient(h, newId());
    const chatA = await alice.createGroup();
    const chatB = await alice.createGroup();
    const inA = messageOf(await alice.send(chatA, 'in A'));
    expect((await alice.patch(`/api/chats/${chatB}/messages/${inA.id}`, { text: 'moved' })).status).toBe(404);
    expect((await alice.delete(`/api/chats/${chatB}/messages/${inA.id}`)).status).toBe(404);
  });

  test('an unknown message id is 404 message_not_found', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.patch(`/api/chats/${chatId}/messages/${newId()}`, { text: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('message_not_found');
  });
});
