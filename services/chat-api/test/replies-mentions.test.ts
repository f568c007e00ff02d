import type { MessageBatchEntry, MessageBatchResult } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';
import { errorCodeOf, listed, messageOf, messagesOf, put, summaryOf } from './support/conversations';

// replyTo and mentions on POST …/messages, the batch path realtime uses, and edits; mentionsUnread in GET /api/chats.
let h: Harness;
let register: (name?: string) => Promise<ChatClient>;
beforeAll(async () => {
  h = await startHarness({ withAuth: true });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  await h.close();
});

const send = (client: ChatClient, chatId: string, body: Record<string, unknown>) =>
  client.post(`/api/chats/${chatId}/messages`, { clientMsgId: `c-${newId()}`, ...body });
const texts = async (client: ChatClient, chatId: string) =>
  messagesOf(await client.get(`/api/chats/${chatId}/messages`)).map((m) => m.text);

async function batch(sends: Partial<MessageBatchEntry>[]): Promise<MessageBatchResult[]> {
  const res = await h.http().post('/internal/message-batches').send({ sends });
  if (res.status !== 200) throw new Error(`batch: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { results: MessageBatchResult[] }).results;
}
async function entry(
  userId: string,
  chatId: string,
  extra: Partial<MessageBatchEntry>,
): Promise<MessageBatchEntry> {
  return {
    identity: await h.identity(userId),
    requestId: `req-${newId()}`,
    chatId,
    text: 'batched',
    clientMsgId: `c-${newId()}`,
    ...extra,
  };
}

describe('replies', () => {
  test('replyTo a message of the same chat is stored as message.replyTo and listed', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('g', [bob.userId]);
    const original = messageOf(await alice.send(chatId, 'question'));
    const res = await send(bob, chatId, { text: 'answer', replyTo: original.id });
    expect(res.status).toBe(201);
    expect(messageOf(res)).toMatchObject({ text: 'answer', replyTo: original.id, seq: 2 });
    expect((await listed(alice, chatId, messageOf(res).id)).replyTo).toBe(original.id);
    expect(original.replyTo).toBeUndefined();
  });

  test('a reply to a message of another chat, or to an unknown id, is 400 invalid_reply; nothing stored', async () => {
    const alice = await register('alice');
    const chatId = await alice.createGroup('here');
    const otherChat = await alice.createGroup('there');
    const elsewhere = messageOf(await alice.send(otherChat, 'over there'));
    for (const replyTo of [elsewhere.id, newId()]) {
      const res = await send(alice, chatId, { text: 'reply', replyTo });
      expect([res.status, errorCodeOf(res)]).toEqual([400, 'invalid_reply']);
    }
    const malformed = await send(alice, chatId, { text: 'reply', replyTo: { $gt: '' } });
    expect([malformed.status, errorCodeOf(malformed)]).toEqual([400, 'validation_error']);
    expect(await texts(alice, chatId)).toEqual([]);
    // No seq was burnt: the next message is still 1.
    expect(messageOf(await alice.send(chatId, 'first')).seq).toBe(1);
  });

  test('idempotency is unchanged: the same clientMsgId with replyTo returns the same message (200)', async () => {
    const alice = await register('alice');
    const chatId = await alice.createGroup('g');
    const original = messageOf(await alice.send(chatId, 'q'));
    const body = { text: 'a', clientMsgId: `c-${newId()}`, replyTo: original.id };
    const first = await alice.post(`/api/chats/${chatId}/messages`, body);
    const again = await alice.post(`/api/chats/${chatId}/messages`, body);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(messageOf(again)).toEqual(messageOf(first));
    expect(await texts(alice, chatId)).toEqual(['q', 'a']);
  });

  test('the batch path (realtime chat:send) takes replyTo and mentions, refusing a bad entry alone', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('g', [bob.userId]);
    const otherChat = await alice.createGroup('other');
    const original = messageOf(await alice.send(chatId, 'q'));
    const elsewhere = messageOf(await alice.send(otherChat, 'x'));
    const stranger = newId();
    const results = await batch([
      await entry(bob.userId, chatId, { text: 'reply', replyTo: original.id, mentions: [alice.userId] }),
      await entry(bob.userId, chatId, { replyTo: elsewhere.id }),
      await entry(bob.userId, chatId, { mentions: [stranger] }),
    ]);
    expect(results.map((r) => r.status)).toEqual([201, 400, 400]);
    expect('message' in results[0]! && results[0].message).toMatchObject({
      text: 'reply',
      replyTo: original.id,
      mentions: [alice.userId],
    });
    expect(results.slice(1).map((r) => ('error' in r ? r.error.code : undefined))).toEqual([
      'invalid_reply',
      'invalid_mention',
    ]);
    expect(await texts(alice, chatId)).toEqual(['q', 'reply']);
  });
});

describe('mentions', () => {
  test('are stored as message.mentions, deduplicated', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const chatId = await alice.createGroup('g', [bob.userId, carol.userId]);
    const res = await send(alice, chatId, {
      text: '@bob @carol @bob',
      mentions: [bob.userId, carol.userId, bob.userId],
    });
    expect(res.status).toBe(201);
    expect(messageOf(res).mentions).toEqual([bob.userId, carol.userId]);
    expect((await listed(bob, chatId, messageOf(res).id)).mentions).toEqual([bob.userId, carol.userId]);
    // No mentions: no field.
    expect(messageOf(await send(alice, chatId, { text: 'plain', mentions: [] })).mentions).toBeUndefined();
  });

  test('a non-member is 400 invalid_mention naming them; more than 50 is 400; nothing stored', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('g', [bob.userId]);
    const stranger = newId();
    const res = await send(alice, chatId, { text: 'hey', mentions: [bob.userId, stranger] });
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'invalid_mention']);
    expect((res.body as { error: { details: unknown } }).error.details).toEqual({ userIds: [stranger] });
    const many = await send(alice, chatId, {
      text: 'all',
      mentions: Array.from({ length: 51 }, () => bob.userId),
    });
    expect([many.status, errorCodeOf(many)]).toEqual([400, 'validation_error']);
    const fifty = await send(alice, chatId, {
      text: 'ok',
      mentions: Array.from({ length: 50 }, () => bob.userId),
    });
    expect(fifty.status).toBe(201);
    expect(await texts(alice, chatId)).toEqual(['ok']);
  });

  test('mentioning a member who blocked me is refused with 403 blocked; nothing stored', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const chatId = await alice.createGroup('g', [bob.userId, carol.userId]);
    expect((await put(h, bob, `/api/users/${alice.userId}/block`)).status).toBe(204);
    const res = await send(alice, chatId, { text: '@bob', mentions: [carol.userId, bob.userId] });
    expect([res.status, errorCodeOf(res)]).toEqual([403, 'blocked']);
    // Mentioning others, and writing in the group, still work.
    expect((await send(alice, chatId, { text: '@carol', mentions: [carol.userId] })).status).toBe(201);
    const message = messageOf(await send(alice, chatId, { text: 'later' }));
    const edit = await alice.patch(`/api/chats/${chatId}/messages/${message.id}`, {
      text: '@bob',
      mentions: [bob.userId],
    });
    expect([edit.status, errorCodeOf(edit)]).toEqual([403, 'blocked']);
    expect(await texts(alice, chatId)).toEqual(['@carol', 'later']);
  });
});

describe('mentionsUnread in GET /api/chats', () => {
  async function mentioning() {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const chatId = await alice.createGroup('g', [bob.userId, carol.userId]);
    return { alice, bob, carol, chatId };
  }
  const counts = async (client: ChatClient, chatId: string) => {
    const summary = await summaryOf(client, chatId);
    return summary && { unread: summary.unread, mentionsUnread: summary.mentionsUnread };
  };

  test('counts the messages after my read marker that mention me, and follows my reads', async () => {
    const { alice, bob, carol, chatId } = await mentioning();
    expect(await counts(bob, chatId)).toEqual({ unread: 0, mentionsUnread: 0 });
    const m1 = messageOf(await send(alice, chatId, { text: '@bob 1', mentions: [bob.userId] }));
    await send(alice, chatId, { text: 'no mention' });
    await send(carol, chatId, { text: '@bob @alice', mentions: [bob.userId, alice.userId] });
    await send(alice, chatId, { text: '@carol', mentions: [carol.userId] });
    expect(await counts(bob, chatId)).toEqual({ unread: 4, mentionsUnread: 2 });
    expect(await counts(carol, chatId)).toEqual({ unread: 1, mentionsUnread: 1 });
    // alice's own send moved her marker past the mention of her.
    expect(await counts(alice, chatId)).toEqual({ unread: 0, mentionsUnread: 0 });
    expect((await bob.post(`/api/chats/${chatId}/read`, { seq: m1.seq })).status).toBe(204);
    expect(await counts(bob, chatId)).toEqual({ unread: 3, mentionsUnread: 1 });
    expect((await bob.post(`/api/chats/${chatId}/read`, { seq: 4 })).status).toBe(204);
    expect(await counts(bob, chatId)).toEqual({ unread: 0, mentionsUnread: 0 });
  });

  test('an edit that adds or removes a mention moves the count; an edit without mentions keeps them', async () => {
    const { alice, bob, chatId } = await mentioning();
    const m = messageOf(await send(alice, chatId, { text: 'hello' }));
    const edit = (body: Record<string, unknown>) =>
      alice.patch(`/api/chats/${chatId}/messages/${m.id}`, body);
    expect(await counts(bob, chatId)).toEqual({ unread: 1, mentionsUnread: 0 });
    const added = await edit({ text: 'hello @bob', mentions: [bob.userId] });
    expect(added.status).toBe(200);
    expect(messageOf(added).mentions).toEqual([bob.userId]);
    expect(await counts(bob, chatId)).toEqual({ unread: 1, mentionsUnread: 1 });
    const kept = await edit({ text: 'hello again @bob' });
    expect(messageOf(kept).mentions).toEqual([bob.userId]);
    expect(await counts(bob, chatId)).toEqual({ unread: 1, mentionsUnread: 1 });
    const refused = await edit({ text: 'x', mentions: [newId()] });
    expect([refused.status, errorCodeOf(refused)]).toEqual([400, 'invalid_mention']);
    expect((await listed(bob, chatId, m.id)).text).toBe('hello again @bob');
    const removed = await edit({ text: 'hello', mentions: [] });
    expect(messageOf(removed).mentions).toBeUndefined();
    expect(await counts(bob, chatId)).toEqual({ unread: 1, mentionsUnread: 0 });
  });

  test('a deleted message stops counting (its mentions are removed with its text)', async () => {
    const { alice, bob, chatId } = await mentioning();
    const m1 = messageOf(await send(alice, chatId, { text: '@bob', mentions: [bob.userId] }));
    await send(alice, chatId, { text: '@bob again', mentions: [bob.userId] });
    expect(await counts(bob, chatId)).toEqual({ unread: 2, mentionsUnread: 2 });
    expect((await alice.delete(`/api/chats/${chatId}/messages/${m1.id}`)).status).toBe(204);
    expect(await counts(bob, chatId)).toEqual({ unread: 2, mentionsUnread: 1 });
    expect((await listed(bob, chatId, m1.id)).mentions).toBeUndefined();
  });

  test('leaving: the chat leaves my list, and I can no longer be mentioned there', async () => {
    const { alice, bob, carol, chatId } = await mentioning();
    await send(alice, chatId, { text: '@bob @carol', mentions: [bob.userId, carol.userId] });
    expect(await counts(bob, chatId)).toEqual({ unread: 1, mentionsUnread: 1 });
    expect((await bob.delete(`/api/chats/${chatId}/members/${bob.userId}`)).status).toBe(204);
    expect(await counts(bob, chatId)).toBeUndefined();
    const res = await send(alice, chatId, { text: '@bob?', mentions: [bob.userId] });
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'invalid_mention']);
    // The others' counts are untouched by bob's leaving.
    expect(await counts(carol, chatId)).toEqual({ unread: 1, mentionsUnread: 1 });
    // The sender leaving changes nothing either: the message and its mention stay.
    expect((await alice.delete(`/api/chats/${chatId}/members/${alice.userId}`)).status).toBe(204);
    expect(await counts(carol, chatId)).toEqual({ unread: 1, mentionsUnread: 1 });
  });

  test('is counted up to 100', async () => {
    const { alice, bob, chatId } = await mentioning();
    for (let i = 0; i < 101; i++) await send(alice, chatId, { text: `@bob ${i}`, mentions: [bob.userId] });
    expect(await counts(bob, chatId)).toEqual({ unread: 101, mentionsUnread: 100 });
  }, 30_000);
});
