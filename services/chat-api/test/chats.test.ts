import type { Chat, ChatSummary, Message } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const chatOf = (res: { body: unknown }) => (res.body as { chat: Chat }).chat;
const chatsOf = (res: { body: unknown }) => (res.body as { chats: ChatSummary[] }).chats;
const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;

/** Activity is ordered by millisecond timestamps: make sure the next write gets a later one. */
function nextMillisecond(): void {
  const start = Date.now();
  while (Date.now() === start) {
    // spin: at most one millisecond
  }
}

describe('groups', () => {
  test('creates a group owned by the caller: 201 with the caller as its only member', async () => {
    const alice = new ChatClient(h, newId());
    const res = await alice.post('/api/chats', { type: 'group', title: '  Team  ' });
    expect(res.status).toBe(201);
    expect(chatOf(res)).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      type: 'group',
      title: 'Team',
      ownerId: alice.userId,
      lastSeq: 0,
      createdAt: expect.any(String),
      lastMessageAt: null,
      members: [{ userId: alice.userId, role: 'owner', joinedAt: expect.any(String), lastReadSeq: 0 }],
    });
  });

  test('publishes chat:added for the creator', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup('announced');
    const event = await h.recorder.next((e) => e.type === 'chat:added' && e.chatId === chatId);
    expect(event).toMatchObject({
      type: 'chat:added',
      chatId,
      userIds: [alice.userId],
      chat: { id: chatId, title: 'announced' },
    });
  });

  test.each([
    [{ type: 'group' }],
    [{ type: 'group', title: '   ' }],
    [{ type: 'group', title: 'x'.repeat(121) }],
    [{ type: 'group', title: { $gt: '' } }],
    [{ type: 'group', title: 't', memberIds: ['not-an-id'] }],
    [{ type: 'group', title: 't', ownerId: newId() }],
    [{ type: 'channel', title: 't' }],
    [{ type: 'direct' }],
    [{ type: 'direct', userId: { $ne: null } }],
  ])('refuses %j with 400', async (body) => {
    const alice = new ChatClient(h, newId());
    const res = await alice.post('/api/chats', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  });

  test('a direct chat with oneself is 400', async () => {
    const alice = new ChatClient(h, newId());
    const res = await alice.post('/api/chats', { type: 'direct', userId: alice.userId });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_direct_chat');
  });

  test('user lookups answer 503 when auth is unreachable', async () => {
    const alice = new ChatClient(h, newId());
    const res = await alice.post('/api/chats', { type: 'direct', userId: newId() });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('upstream_unavailable');
  });
});

describe('GET /api/chats/:chatId', () => {
  test('a member gets the chat with its members', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup('details');
    const res = await alice.get(`/api/chats/${chatId}`);
    expect(res.status).toBe(200);
    expect(chatOf(res)).toMatchObject({
      id: chatId,
      title: 'details',
      members: [{ userId: alice.userId, role: 'owner' }],
    });
  });

  test('a non-member gets 404, the same as for a chat that does not exist', async () => {
    const alice = new ChatClient(h, newId());
    const mallory = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const hidden = await mallory.get(`/api/chats/${chatId}`);
    const missing = await mallory.get(`/api/chats/${newId()}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
  });
});

describe('GET /api/chats', () => {
  test('lists my chats newest activity first, with lastMessage and unread', async () => {
    const alice = new ChatClient(h, newId());
    const older = await alice.createGroup('older');
    const quiet = await alice.createGroup('quiet');
    nextMillisecond();
    const sent = messageOf(await alice.send(older, 'bump'));
    const res = await alice.get('/api/chats');
    expect(res.status).toBe(200);
    const chats = chatsOf(res);
    expect(chats.map((c) => c.id)).toEqual([older, quiet]);
    expect(chats[0]).toMatchObject({
      id: older,
      lastSeq: 1,
      lastMessage: sent,
      unread: 0,
      lastMessageAt: sent.createdAt,
    });
    expect(chats[1]).toMatchObject({
      id: quiet,
      lastSeq: 0,
      lastMessage: null,
      unread: 0,
      lastMessageAt: null,
    });
  });

  test('a newly created chat with no messages sorts by its creation time', async () => {
    const alice = new ChatClient(h, newId());
    const first = await alice.createGroup('first');
    await alice.send(first, 'hello');
    nextMillisecond();
    const fresh = await alice.createGroup('fresh');
    expect(chatsOf(await alice.get('/api/chats')).map((c) => c.id)).toEqual([fresh, first]);
  });

  test('does not list chats I am not in', async () => {
    const alice = new ChatClient(h, newId());
    const bob = new ChatClient(h, newId());
    await alice.createGroup('alice only');
    const mine = await bob.createGroup('bob only');
    expect(chatsOf(await bob.get('/api/chats')).map((c) => c.id)).toEqual([mine]);
  });

  test('my own messages never count as unread; lastMessage follows edits and deletes', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    await alice.send(chatId, 'one');
    const two = messageOf(await alice.send(chatId, 'two'));
    await alice.patch(`/api/chats/${chatId}/messages/${two.id}`, { text: 'two!' });
    let [summary] = chatsOf(await alice.get('/api/chats'));
    expect(summary).toMatchObject({ unread: 0, lastSeq: 2, lastMessage: { id: two.id, text: 'two!' } });
    await alice.delete(`/api/chats/${chatId}/messages/${two.id}`);
    [summary] = chatsOf(await alice.get('/api/chats'));
    expect(summary?.lastMessage).toMatchObject({ id: two.id, text: '', deletedAt: expect.any(String) });
  });
});

describe('read markers', () => {
  test('POST read answers 204, moves lastReadSeq and publishes chat:read', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    for (let i = 0; i < 3; i++) await alice.send(chatId, `m${i}`);
    // Own messages already moved alice's marker to 3; reading 3 again changes nothing.
    const res = await alice.post(`/api/chats/${chatId}/read`, { seq: 3 });
    expect(res.status).toBe(204);
    const member = chatOf(await alice.get(`/api/chats/${chatId}`)).members?.[0];
    expect(member?.lastReadSeq).toBe(3);
  });

  test('is clamped to lastSeq and never moves backwards', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    expect((await alice.post(`/api/chats/${chatId}/read`, { seq: 99 })).status).toBe(204);
    expect(chatOf(await alice.get(`/api/chats/${chatId}`)).members?.[0]?.lastReadSeq).toBe(0);
    await alice.send(chatId, 'a');
    await alice.send(chatId, 'b');
    expect((await alice.post(`/api/chats/${chatId}/read`, { seq: 1 })).status).toBe(204);
    expect(chatOf(await alice.get(`/api/chats/${chatId}`)).members?.[0]?.lastReadSeq).toBe(2);
  });

  test.each([[{ seq: -1 }], [{ seq: 1.5 }], [{ seq: '3' }], [{ seq: { $gt: 0 } }], [{}]])(
    'refuses %j with 400',
    async (body) => {
      const alice = new ChatClient(h, newId());
      const chatId = await alice.createGroup();
      expect((await alice.post(`/api/chats/${chatId}/read`, body)).status).toBe(400);
    },
  );

  test('a non-member cannot move a read marker: 404', async () => {
    const alice = new ChatClient(h, newId());
    const mallory = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    expect((await mallory.post(`/api/chats/${chatId}/read`, { seq: 0 })).status).toBe(404);
  });
});

describe('leaving and the internal membership list', () => {
  test("/internal/memberships lists the caller's chat ids", async () => {
    const alice = new ChatClient(h, newId());
    const a = await alice.createGroup();
    const b = await alice.createGroup();
    const res = await alice.get('/internal/memberships');
    expect(res.status).toBe(200);
    expect((res.body as { chatIds: string[] }).chatIds.sort()).toEqual([a, b].sort());
  });

  test('the last member leaves: 204, chat:removed, and the chat is gone for them', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const res = await alice.delete(`/api/chats/${chatId}/members/${alice.userId}`);
    expect(res.status).toBe(204);
    expect(await h.recorder.next((e) => e.type === 'chat:removed' && e.chatId === chatId)).toEqual({
      type: 'chat:removed',
      chatId,
      userIds: [alice.userId],
    });
    expect((await alice.get(`/api/chats/${chatId}`)).status).toBe(404);
    expect((await alice.get('/internal/memberships')).body).toEqual({ chatIds: [], blockPartners: [] });
  });

  test('a non-member cannot remove anyone: 404', async () => {
    const alice = new ChatClient(h, newId());
    const mallory = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    expect((await mallory.delete(`/api/chats/${chatId}/members/${alice.userId}`)).status).toBe(404);
    expect((await mallory.post(`/api/chats/${chatId}/members`, { userId: mallory.userId })).status).toBe(404);
    expect(chatOf(await alice.get(`/api/chats/${chatId}`)).members?.map((m) => m.userId)).toEqual([
      alice.userId,
    ]);
  });
});
