import { REACTIONS_MAX_DISTINCT, type ChatEvent } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';
import { errorCodeOf, listed, messageOf, put } from './support/conversations';

// PUT / DELETE /api/chats/:chatId/messages/:messageId/reactions/:emoji, against the real app and store.
let h: Harness;
let register: (name?: string) => Promise<ChatClient>;
beforeAll(async () => {
  // Groups with members look them up in the real auth service.
  h = await startHarness({ withAuth: true });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  await h.close();
});

const path = (chatId: string, messageId: string, emoji: string) =>
  `/api/chats/${chatId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;

/** A group of alice's with `others` as members, holding one message of alice's. */
async function setup(others: ChatClient[] = []) {
  const alice = await register('alice');
  const chatId = await alice.createGroup(
    'reactions',
    others.map((o) => o.userId),
  );
  const message = messageOf(await alice.send(chatId, 'react to me'));
  return { alice, chatId, messageId: message.id };
}

const reactionEvents = (messageId: string) =>
  h.recorder.events.filter(
    (e): e is Extract<ChatEvent, { type: 'chat:reactions' }> =>
      e.type === 'chat:reactions' && e.messageId === messageId,
  );

describe('reacting', () => {
  test('PUT is 204; the message then carries the summary, and members get chat:reactions with it', async () => {
    const bob = await register('bob');
    const { alice, chatId, messageId } = await setup([bob]);
    const res = await put(h, bob, path(chatId, messageId, '👍'));
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const message = await listed(alice, chatId, messageId);
    expect(message.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [bob.userId] }]);
    expect(message.reactionsVersion).toBe(1);
    expect(await h.recorder.next((e) => e.type === 'chat:reactions' && e.messageId === messageId)).toEqual({
      type: 'chat:reactions',
      chatId,
      messageId,
      reactions: [{ emoji: '👍', count: 1, userIds: [bob.userId] }],
      reactionsVersion: 1,
    });
  });

  test('is idempotent: the same reaction again is 204, counts once and publishes nothing', async () => {
    const { alice, chatId, messageId } = await setup();
    expect((await put(h, alice, path(chatId, messageId, '🎉'))).status).toBe(204);
    expect((await put(h, alice, path(chatId, messageId, '🎉'))).status).toBe(204);
    expect((await put(h, alice, path(chatId, messageId, '❤️'))).status).toBe(204);
    // The third change's event arriving means the (absent) event of the repeat would have arrived before it.
    await h.recorder.next(
      (e) => e.type === 'chat:reactions' && e.messageId === messageId && e.reactionsVersion === 2,
    );
    expect(reactionEvents(messageId).map((e) => e.reactionsVersion)).toEqual([1, 2]);
    expect((await listed(alice, chatId, messageId)).reactions).toEqual([
      { emoji: '🎉', count: 1, userIds: [alice.userId] },
      { emoji: '❤️', count: 1, userIds: [alice.userId] },
    ]);
  });

  test('DELETE takes my reaction back (204, idempotent); an emptied emoji leaves the summary', async () => {
    const bob = await register('bob');
    const { alice, chatId, messageId } = await setup([bob]);
    await put(h, alice, path(chatId, messageId, '👍'));
    await put(h, bob, path(chatId, messageId, '👍'));
    await put(h, bob, path(chatId, messageId, '😂'));
    expect((await alice.delete(path(chatId, messageId, '👍'))).status).toBe(204);
    expect((await alice.delete(path(chatId, messageId, '👍'))).status).toBe(204);
    expect((await bob.delete(path(chatId, messageId, '😂'))).status).toBe(204);
    const message = await listed(alice, chatId, messageId);
    expect(message.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [bob.userId] }]);
    expect(message.reactionsVersion).toBe(5);
    const last = await h.recorder.next(
      (e) => e.type === 'chat:reactions' && e.messageId === messageId && e.reactionsVersion === 5,
    );
    expect(last).toMatchObject({ reactions: [{ emoji: '👍', count: 1, userIds: [bob.userId] }] });
    expect((await bob.delete(path(chatId, messageId, '👍'))).status).toBe(204);
    expect((await listed(alice, chatId, messageId)).reactions).toBeUndefined();
  });

  test('accepts one emoji of any RGI kind: skin tones, ZWJ sequences, flags, keycaps', async () => {
    const { alice, chatId, messageId } = await setup();
    const emoji = ['👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '1️⃣', '🏳️‍🌈'];
    for (const e of emoji) expect((await put(h, alice, path(chatId, messageId, e))).status).toBe(204);
    expect((await listed(alice, chatId, messageId)).reactions?.map((r) => r.emoji)).toEqual(emoji);
  });

  test.each([
    ['a letter', 'a'],
    ['two emoji', '👍👍'],
    ['an emoji and a space', '👍 '],
    ['a digit', '1'],
    ['an emoji with text', 'ok👍'],
    ['over 32 bytes', '👍'.repeat(9)],
  ])('refuses %s with 400 and stores nothing', async (_name, emoji) => {
    const { alice, chatId, messageId } = await setup();
    const res = await put(h, alice, path(chatId, messageId, emoji));
    expect(res.status).toBe(400);
    expect(errorCodeOf(res)).toBe('validation_error');
    expect((await alice.delete(path(chatId, messageId, emoji))).status).toBe(400);
    expect((await listed(alice, chatId, messageId)).reactions).toBeUndefined();
  });

  test.each([
    ['a truncated UTF-8 sequence', '%F0%9F'],
    ['a lone surrogate (CESU-8)', '%ED%A0%BD'],
    ['an emoji without its variation selector (text presentation)', '%F0%9F%8C%B6'],
  ])('refuses %s with 400', async (_name, encoded) => {
    const { alice, chatId, messageId } = await setup();
    const res = await put(h, alice, `/api/chats/${chatId}/messages/${messageId}/reactions/${encoded}`);
    expect(res.status).toBe(400);
    expect((await listed(alice, chatId, messageId)).reactions).toBeUndefined();
  });

  test(`allows ${REACTIONS_MAX_DISTINCT} distinct emoji; the next is 400 too_many_reactions, existing ones still work`, async () => {
    const bob = await register('bob');
    const { alice, chatId, messageId } = await setup([bob]);
    const emoji = [...'😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙'];
    expect(emoji).toHaveLength(REACTIONS_MAX_DISTINCT);
    for (const e of emoji) expect((await put(h, alice, path(chatId, messageId, e))).status).toBe(204);
    const refused = await put(h, bob, path(chatId, messageId, '🤔'));
    expect(refused.status).toBe(400);
    expect(errorCodeOf(refused)).toBe('too_many_reactions');
    expect((await listed(alice, chatId, messageId)).reactions).toHaveLength(REACTIONS_MAX_DISTINCT);
    // Joining an emoji already there is no new distinct one.
    expect((await put(h, bob, path(chatId, messageId, '😀'))).status).toBe(204);
    expect((await listed(alice, chatId, messageId)).reactions?.[0]).toEqual({
      emoji: '😀',
      count: 2,
      userIds: [alice.userId, bob.userId],
    });
    // Once an emoji is gone, there is room again.
    expect((await alice.delete(path(chatId, messageId, '😙'))).status).toBe(204);
    expect((await put(h, bob, path(chatId, messageId, '🤔'))).status).toBe(204);
    const after = (await listed(alice, chatId, messageId)).reactions ?? [];
    expect(after).toHaveLength(REACTIONS_MAX_DISTINCT);
    expect(after.map((r) => r.emoji)).toContain('🤔');
    expect(after.map((r) => r.emoji)).not.toContain('😙');
  });

  test('404 for a non-member (chat_not_found), an unknown message, and a message of another chat', async () => {
    const { alice, chatId, messageId } = await setup();
    const stranger = new ChatClient(h, newId());
    const res = await put(h, stranger, path(chatId, messageId, '👍'));
    expect([res.status, errorCodeOf(res)]).toEqual([404, 'chat_not_found']);
    const del = await stranger.delete(path(chatId, messageId, '👍'));
    expect([del.status, errorCodeOf(del)]).toEqual([404, 'chat_not_found']);
    const unknown = await put(h, alice, path(chatId, newId(), '👍'));
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'message_not_found']);
    const otherChat = await alice.createGroup('other');
    const elsewhere = await put(h, alice, path(otherChat, messageId, '👍'));
    expect([elsewhere.status, errorCodeOf(elsewhere)]).toEqual([404, 'message_not_found']);
    expect((await listed(alice, chatId, messageId)).reactions).toBeUndefined();
  });

  test('409 message_deleted for a deleted message, both ways', async () => {
    const { alice, chatId, messageId } = await setup();
    await put(h, alice, path(chatId, messageId, '👍'));
    expect((await alice.delete(`/api/chats/${chatId}/messages/${messageId}`)).status).toBe(204);
    const res = await put(h, alice, path(chatId, messageId, '🎉'));
    expect([res.status, errorCodeOf(res)]).toEqual([409, 'message_deleted']);
    const del = await alice.delete(path(chatId, messageId, '👍'));
    expect([del.status, errorCodeOf(del)]).toEqual([409, 'message_deleted']);
  });

  test('message answers carry the summary: an edit answer, and the listing after it', async () => {
    const { alice, chatId, messageId } = await setup();
    await put(h, alice, path(chatId, messageId, '👍'));
    const edited = messageOf(
      await alice.patch(`/api/chats/${chatId}/messages/${messageId}`, { text: 'edited' }),
    );
    expect(edited).toMatchObject({ text: 'edited', version: 2, reactions: [{ emoji: '👍', count: 1 }] });
  });
});

describe('concurrent reactions', () => {
  let members: ChatClient[];
  beforeAll(async () => {
    members = [];
    for (let i = 0; i < 50; i++) members.push(await register(`r${i}`));
  }, 60_000);

  test('50 users reacting to one message at once: count 50, none lost; the first 10 are named', async () => {
    const { alice, chatId, messageId } = await setup(members);
    const answers = await Promise.all(members.map((m) => put(h, m, path(chatId, messageId, '🔥'))));
    expect(answers.map((r) => r.status)).toEqual(members.map(() => 204));
    const message = await listed(alice, chatId, messageId);
    expect(message.reactions).toHaveLength(1);
    const [fire] = message.reactions ?? [];
    expect(fire?.count).toBe(50);
    expect(fire?.userIds).toHaveLength(10);
    expect(new Set(fire?.userIds).size).toBe(10);
    for (const id of fire?.userIds ?? []) expect(members.map((m) => m.userId)).toContain(id);
    expect(message.reactionsVersion).toBe(50);
    // Every change published a full summary with its own version; the highest one is the stored state.
    await h.recorder.next(
      (e) => e.type === 'chat:reactions' && e.messageId === messageId && e.reactionsVersion === 50,
    );
    const events = reactionEvents(messageId);
    expect(new Set(events.map((e) => e.reactionsVersion)).size).toBe(50);
    expect(events.find((e) => e.reactionsVersion === 50)?.reactions).toEqual(message.reactions);
  }, 60_000);

  test('50 users taking theirs back at once leaves none; 30 new emoji at once store exactly 20', async () => {
    const { alice, chatId, messageId } = await setup(members);
    await Promise.all(members.map((m) => put(h, m, path(chatId, messageId, '🔥'))));
    const removed = await Promise.all(members.map((m) => m.delete(path(chatId, messageId, '🔥'))));
    expect(removed.map((r) => r.status)).toEqual(members.map(() => 204));
    expect((await listed(alice, chatId, messageId)).reactions).toBeUndefined();
    // Each of 30 users starts a different emoji at once: the cap holds under the race.
    const emoji = [...'🍏🍎🍐🍊🍋🍌🍉🍇🍓🫐🍈🍒🍑🥭🍍🥥🥝🍅🍆🥑🥦🥬🥒🥔🫑🌽🥕🫒🧄🧅'];
    expect(new Set(emoji).size).toBe(30);
    const answers = await Promise.all(emoji.map((e, i) => put(h, members[i]!, path(chatId, messageId, e))));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(REACTIONS_MAX_DISTINCT);
    expect(answers.filter((r) => r.status === 400).map(errorCodeOf)).toEqual(
      Array(30 - REACTIONS_MAX_DISTINCT).fill('too_many_reactions'),
    );
    const stored = (await listed(alice, chatId, messageId)).reactions ?? [];
    expect(stored).toHaveLength(REACTIONS_MAX_DISTINCT);
    expect(stored.every((r) => r.count === 1)).toBe(true);
  }, 60_000);
});
