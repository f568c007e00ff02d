import type { Message, MessageBatchEntry, MessageBatchResult } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';

// docs/security.md: every string the API accepts is well-formed Unicode without NUL. A lone surrogate has no
// UTF-8 form: accepted, the sender's ack would show it while the store and everyone else got U+FFFD.
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const LONE_HIGH = '\uD83D';
const LONE_LOW = '\uDE00';
const messagesOf = (res: { body: unknown }) => (res.body as { messages: Message[] }).messages;

async function storedTexts(client: ChatClient, chatId: string): Promise<string[]> {
  const res = await client.get(`/api/chats/${chatId}/messages`);
  expect(res.status).toBe(200);
  return messagesOf(res).map((m) => m.text);
}

describe('ill-formed text', () => {
  test.each([
    ['a lone high surrogate', `hello ${LONE_HIGH}`],
    ['a lone low surrogate', `${LONE_LOW} hello`],
    ['a NUL', 'hel\u0000lo'],
  ])('a message with %s is refused with 400 validation_error and nothing is stored', async (_case, text) => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.send(chatId, text);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(await storedTexts(alice, chatId)).toEqual([]);
    const chat = await alice.get(`/api/chats/${chatId}`);
    expect(chat.body.chat.lastSeq).toBe(0);
  });

  test('a message with an emoji (a surrogate pair) is stored as sent', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    expect((await alice.send(chatId, 'hi 😀')).status).toBe(201);
    expect(await storedTexts(alice, chatId)).toEqual(['hi 😀']);
  });

  test('an edit to ill-formed text is refused and the stored text is unchanged', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = await alice.send(chatId, 'original');
    const messageId = (sent.body as { message: Message }).message.id;
    const res = await alice.patch(`/api/chats/${chatId}/messages/${messageId}`, {
      text: `edited ${LONE_HIGH}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(await storedTexts(alice, chatId)).toEqual(['original']);
  });

  test('a group title with NUL is refused', async () => {
    const alice = new ChatClient(h, newId());
    const res = await alice.post('/api/chats', { type: 'group', title: 'team\u0000' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  });

  test("realtime's batched send (the socket path) refuses the entry with 400 and stores nothing", async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const entry: MessageBatchEntry = {
      identity: await h.identity(alice.userId),
      requestId: `req-${newId()}`,
      chatId,
      text: `bad ${LONE_LOW}`,
      clientMsgId: `c-${newId()}`,
    };
    const res = await h
      .http()
      .post('/internal/message-batches')
      .send({ sends: [entry] });
    expect(res.status).toBe(200);
    const [result] = (res.body as { results: MessageBatchResult[] }).results;
    expect(result).toMatchObject({ status: 400, error: { code: 'validation_error' } });
    expect(await storedTexts(alice, chatId)).toEqual([]);
  });
});
