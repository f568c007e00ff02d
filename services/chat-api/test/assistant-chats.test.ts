import { Redis } from 'ioredis';
import {
  ASSISTANT_USER_ID,
  createIdentitySigner,
  IDENTITY_HEADER,
  importSigningKey,
  triggerPartition,
  triggerStreamKey,
  type AssistantTrigger,
  type Chat,
  type IdentitySigner,
  type Message,
} from '@cohort/common';
import { ChatClient, newId, signFor, startHarness, type Harness } from './support';
import { errorCodeOf, messageOf } from './support/conversations';

// DESIGN §7 in chat-api: assistant chats, the triggers handed to the assistant, and the assistant's answers.
let h: Harness;
let redis: Redis;
let assistantSigner: IdentitySigner;
let register: (name?: string) => Promise<ChatClient>;

beforeAll(async () => {
  h = await startHarness({ withAuth: true });
  redis = new Redis(h.redis.url);
  assistantSigner = createIdentitySigner(
    await importSigningKey(h.keys.assistantIdentity.privateKeyPem, 'EdDSA'),
    'assistant',
  );
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

/** The assistant's own client: its key, its forwarder name, its user id. */
const assistant = new ChatClient(
  { http: () => h.http(), identity: (userId) => signFor(assistantSigner, userId) },
  ASSISTANT_USER_ID,
);
const chatOf = (res: { body: unknown }) => (res.body as { chat: Chat }).chat;

async function triggersOf(chatId: string): Promise<AssistantTrigger[]> {
  const entries = await redis.xrange(triggerStreamKey(triggerPartition(chatId)), '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[1] ?? '{}') as AssistantTrigger)
    .filter((t) => t.chatId === chatId);
}
/** Sends one more message and waits for its trigger: every earlier append (same connection, in order) is done. */
async function settled(client: ChatClient, chatId: string): Promise<void> {
  const res = await client.send(chatId, '@cohortgpt marker');
  const marker = messageOf(res);
  for (let i = 0; i < 100 && !(await triggersOf(chatId)).some((t) => t.messageId === marker.id); i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('assistant chats', () => {
  test('POST /api/chats {type:"assistant"} makes a new chat of the caller and the assistant each time', async () => {
    const alice = await register('alice');
    const first = await alice.post('/api/chats', { type: 'assistant' });
    const second = await alice.post('/api/chats', { type: 'assistant', title: '  Trip plans ' });
    expect([first.status, second.status]).toEqual([201, 201]);
    const [a, b] = [chatOf(first), chatOf(second)];
    expect(a.id).not.toBe(b.id);
    expect(a).toMatchObject({ type: 'assistant', title: 'New chat', ownerId: alice.userId });
    expect(b.title).toBe('Trip plans');
    expect(a.members?.map((m) => [m.userId, m.role]).sort()).toEqual(
      [
        [alice.userId, 'owner'],
        [ASSISTANT_USER_ID, 'member'],
      ].sort(),
    );
  });

  test('a direct chat with the assistant is refused (400 invalid_direct_chat): its chats are assistant chats', async () => {
    const alice = await register('alice');
    const res = await alice.post('/api/chats', { type: 'direct', userId: ASSISTANT_USER_ID });
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'invalid_direct_chat']);
  });

  test.each([
    ['a title of 121 characters', { type: 'assistant', title: 'x'.repeat(121) }],
    ['a blank title', { type: 'assistant', title: '  ' }],
    ['an object as title', { type: 'assistant', title: { $gt: '' } }],
    ['members', { type: 'assistant', memberIds: [newId()] }],
  ])('refuses %s with 400 validation_error', async (_name, body) => {
    const alice = await register('alice');
    const res = await alice.post('/api/chats', body);
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'validation_error']);
  });
});

describe('triggers for the assistant', () => {
  test('every message of an assistant chat is handed over once, with its id and seq; a retry adds nothing', async () => {
    const alice = await register('alice');
    const chatId = chatOf(await alice.post('/api/chats', { type: 'assistant' })).id;
    const one = messageOf(await alice.send(chatId, 'What is a monad?', 'q-1'));
    const again = messageOf(await alice.send(chatId, 'What is a monad?', 'q-1'));
    expect(again.id).toBe(one.id);
    const two = messageOf(await alice.send(chatId, 'And a functor?'));
    await settled(alice, chatId);
    const triggers = await triggersOf(chatId);
    expect(triggers.slice(0, 2)).toEqual([
      { chatId, messageId: one.id, seq: 1, senderId: alice.userId },
      { chatId, messageId: two.id, seq: 2, senderId: alice.userId },
    ]);
    expect(triggers).toHaveLength(3);
  });

  test('in a group, only messages that call the assistant: its id in mentions, or @cohortgpt as a word', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('team', [bob.userId, ASSISTANT_USER_ID]);
    const plain = messageOf(await alice.send(chatId, 'lunch at noon?'));
    const lookalike = messageOf(await alice.send(chatId, 'mail me at x@cohortgpt.example or @cohortgptx'));
    const byText = messageOf(await bob.send(chatId, 'hey @CohortGPT, summarise this'));
    const byMention = messageOf(
      await bob.post(`/api/chats/${chatId}/messages`, {
        text: 'what do you think?',
        clientMsgId: `c-${newId()}`,
        mentions: [ASSISTANT_USER_ID],
      }),
    );
    await settled(alice, chatId);
    const ids = (await triggersOf(chatId)).map((t) => t.messageId);
    expect(ids.slice(0, 2)).toEqual([byText.id, byMention.id]);
    expect(ids).not.toContain(plain.id);
    expect(ids).not.toContain(lookalike.id);
  });
});

describe('the assistant’s answers (POST /internal/chats/:chatId/answers)', () => {
  const ai = {
    streamId: 'stream-0001',
    status: 'done',
    model: 'test-model',
    usage: { promptTokens: 12, completionTokens: 3 },
  };

  test('stored as an ordinary message of the assistant with message.ai and replyTo; once per clientMsgId', async () => {
    const alice = await register('alice');
    const chatId = chatOf(await alice.post('/api/chats', { type: 'assistant' })).id;
    const question = messageOf(await alice.send(chatId, 'hi'));
    const body = { text: 'Hello!', clientMsgId: `ai:${question.id}`, replyTo: question.id, ai };
    const first = await assistant.post(`/internal/chats/${chatId}/answers`, body);
    const second = await assistant.post(`/internal/chats/${chatId}/answers`, {
      ...body,
      text: 'Hello again!',
    });
    expect([first.status, second.status]).toEqual([201, 200]);
    const answer = messageOf(first);
    expect(messageOf(second)).toEqual(answer);
    expect(answer).toMatchObject({
      senderId: ASSISTANT_USER_ID,
      seq: 2,
      text: 'Hello!',
      replyTo: question.id,
      ai,
    });
    const listed = (await alice.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] };
    expect(listed.messages.map((m) => m.id)).toEqual([question.id, answer.id]);
    expect(listed.messages[1]?.ai).toEqual(ai);
    const event = await h.recorder.next((e) => e.type === 'chat:new' && e.message.id === answer.id);
    expect(event.type === 'chat:new' && event.message.ai).toEqual(ai);
    await settled(alice, chatId);
    // Its own answer is never a trigger.
    expect((await triggersOf(chatId)).map((t) => t.messageId)).not.toContain(answer.id);
  });

  test('only under the assistant’s own forwarding, as the assistant, in its chats, replying to that chat', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = chatOf(await alice.post('/api/chats', { type: 'assistant' })).id;
    const question = messageOf(await alice.send(chatId, 'hi'));
    const body = { text: 'x', clientMsgId: `ai:${question.id}`, replyTo: question.id, ai };
    // The gateway's key claiming to be the assistant user.
    const forged = await new ChatClient(h, ASSISTANT_USER_ID).post(`/internal/chats/${chatId}/answers`, body);
    expect([forged.status, errorCodeOf(forged)]).toEqual([403, 'forbidden']);
    // The assistant's key, as a user.
    const asUser = await new ChatClient(
      { http: () => h.http(), identity: (userId) => signFor(assistantSigner, userId) },
      alice.userId,
    ).post(`/internal/chats/${chatId}/answers`, body);
    expect([asUser.status, errorCodeOf(asUser)]).toEqual([403, 'forbidden']);
    // A chat the assistant is not in.
    const group = await bob.createGroup('no assistant');
    const bobQuestion = messageOf(await bob.send(group, 'hi'));
    const outside = await assistant.post(`/internal/chats/${group}/answers`, {
      ...body,
      replyTo: bobQuestion.id,
    });
    expect([outside.status, errorCodeOf(outside)]).toEqual([404, 'chat_not_found']);
    // A reply to another chat's message.
    const otherChat = chatOf(await alice.post('/api/chats', { type: 'assistant' })).id;
    const elsewhere = await assistant.post(`/internal/chats/${otherChat}/answers`, body);
    expect([elsewhere.status, errorCodeOf(elsewhere)]).toEqual([400, 'invalid_reply']);
    const noHeader = await h.http().post(`/internal/chats/${chatId}/answers`).send(body);
    expect(noHeader.status).toBe(401);
    expect(noHeader.headers[IDENTITY_HEADER]).toBeUndefined();
    const listed = (await alice.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] };
    expect(listed.messages.map((m) => m.id)).toEqual([question.id]);
  });

  test.each([
    ['an unknown status', { ai: { ...ai, status: 'great' } }],
    ['an unknown error code', { ai: { ...ai, status: 'failed', error: { code: 'oops', message: 'x' } } }],
    ['empty text', { text: '' }],
    ['16,001 characters', { text: 'x'.repeat(16_001) }],
    ['an object as text', { text: { $gt: '' } }],
    ['no ai', { ai: undefined }],
  ])('refuses %s with 400 validation_error, storing nothing', async (_name, change) => {
    const alice = await register('alice');
    const chatId = chatOf(await alice.post('/api/chats', { type: 'assistant' })).id;
    const question = messageOf(await alice.send(chatId, 'hi'));
    const res = await assistant.post(`/internal/chats/${chatId}/answers`, {
      text: 'ok',
      clientMsgId: `ai:${question.id}`,
      replyTo: question.id,
      ai,
      ...change,
    });
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'validation_error']);
    const listed = (await alice.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] };
    expect(listed.messages).toHaveLength(1);
  });

  test('the assistant may rename an assistant chat (after its first answer), not a group it is in', async () => {
    const alice = await register('alice');
    const chatId = chatOf(await alice.post('/api/chats', { type: 'assistant' })).id;
    const renamed = await assistant.patch(`/api/chats/${chatId}`, { title: 'Monads explained' });
    expect([renamed.status, chatOf(renamed).title]).toEqual([200, 'Monads explained']);
    const group = await alice.createGroup('team', [ASSISTANT_USER_ID]);
    const refused = await assistant.patch(`/api/chats/${group}`, { title: 'mine' });
    expect([refused.status, errorCodeOf(refused)]).toEqual([403, 'not_owner']);
  });
});
