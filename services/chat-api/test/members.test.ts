import { IDENTITY_HEADER, type Chat, type ChatSummary, type Message } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import { ChatClient, newId, startHarness, type Harness } from './support';

// These tests look users up in the real auth service (spawned as a process by the harness).
let h: Harness;
let register: (name?: string) => Promise<ChatClient>;
beforeAll(async () => {
  h = await startHarness({ withAuth: true });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  await h.close();
});

const chatOf = (res: { body: unknown }) => (res.body as { chat: Chat }).chat;
const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;
const memberIds = (chat: Chat) => (chat.members ?? []).map((m) => m.userId).sort();

describe('direct chats', () => {
  test('creates a direct chat between two users: 201, both members', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const res = await alice.post('/api/chats', { type: 'direct', userId: bob.userId });
    expect(res.status).toBe(201);
    expect(chatOf(res)).toMatchObject({ type: 'direct', ownerId: alice.userId, lastSeq: 0 });
    expect(memberIds(chatOf(res))).toEqual([alice.userId, bob.userId].sort());
    const event = await h.recorder.next((e) => e.type === 'chat:added' && e.chatId === chatOf(res).id);
    expect(event.type === 'chat:added' && [...event.userIds].sort()).toEqual(
      [alice.userId, bob.userId].sort(),
    );
  });

  test('the same pair returns the existing chat with 200, whoever asks', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const first = await alice.post('/api/chats', { type: 'direct', userId: bob.userId });
    const again = await alice.post('/api/chats', { type: 'direct', userId: bob.userId });
    const reverse = await bob.post('/api/chats', { type: 'direct', userId: alice.userId });
    expect([first.status, again.status, reverse.status]).toEqual([201, 200, 200]);
    expect(chatOf(again).id).toBe(chatOf(first).id);
    expect(chatOf(reverse).id).toBe(chatOf(first).id);
  });

  test('concurrent creations from both sides make one chat with two members', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? alice.post('/api/chats', { type: 'direct', userId: bob.userId })
          : bob.post('/api/chats', { type: 'direct', userId: alice.userId }),
      ),
    );
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 200)).toHaveLength(9);
    expect(new Set(answers.map((r) => chatOf(r).id)).size).toBe(1);
    const chat = chatOf(await alice.get(`/api/chats/${chatOf(answers[0]!).id}`));
    expect(memberIds(chat)).toEqual([alice.userId, bob.userId].sort());
  });

  test('an unknown user is 404 user_not_found', async () => {
    const alice = await register('alice');
    const res = await alice.post('/api/chats', { type: 'direct', userId: newId() });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('user_not_found');
  });

  test("the user lookup carries the caller's request id to auth", async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const requestId = `trace-${newId()}`;
    const res = await h
      .http()
      .post('/api/chats')
      .set(IDENTITY_HEADER, await h.identity(alice.userId))
      .set('x-request-id', requestId)
      .send({ type: 'direct', userId: bob.userId });
    expect(res.status).toBe(201);
    await waitFor(() => {
      if (!h.auth!.service.logs.some((line) => line.includes(requestId) && line.includes('/api/users')))
        throw new Error('not logged yet');
    });
  });

  test('its members are fixed: adding or removing someone else is 403', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const chatId = chatOf(await alice.post('/api/chats', { type: 'direct', userId: bob.userId })).id;
    const add = await alice.post(`/api/chats/${chatId}/members`, { userId: carol.userId });
    expect(add.status).toBe(403);
    expect(add.body.error.code).toBe('direct_chat_fixed');
    expect((await alice.delete(`/api/chats/${chatId}/members/${bob.userId}`)).status).toBe(403);
  });

  test('a member who left comes back, history intact, by opening the chat again', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = chatOf(await alice.post('/api/chats', { type: 'direct', userId: bob.userId })).id;
    await alice.send(chatId, 'hello bob');
    expect((await bob.delete(`/api/chats/${chatId}/members/${bob.userId}`)).status).toBe(204);
    expect((await bob.get(`/api/chats/${chatId}/messages`)).status).toBe(404);
    const reopened = await bob.post('/api/chats', { type: 'direct', userId: alice.userId });
    expect(reopened.status).toBe(200);
    expect(chatOf(reopened).id).toBe(chatId);
    const history = (await bob.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] };
    expect(history.messages.map((m) => m.text)).toEqual(['hello bob']);
  });
});

describe('groups with members', () => {
  test('creates a group with memberIds: 201, owner plus members', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const res = await alice.post('/api/chats', {
      type: 'group',
      title: 'trio',
      memberIds: [bob.userId, carol.userId, alice.userId, bob.userId],
    });
    expect(res.status).toBe(201);
    const chat = chatOf(res);
    expect(chat.members?.[0]).toMatchObject({ userId: alice.userId, role: 'owner' });
    expect(memberIds(chat)).toEqual([alice.userId, bob.userId, carol.userId].sort());
    expect(chat.members?.filter((m) => m.role === 'owner')).toHaveLength(1);
  });

  test('an unknown member id is 404 user_not_found and creates nothing', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const res = await alice.post('/api/chats', {
      type: 'group',
      title: 'x',
      memberIds: [bob.userId, newId()],
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('user_not_found');
    expect((await alice.get('/api/chats')).body).toEqual({ chats: [], nextCursor: null });
  });

  test('the owner adds a member: 201, chat:added for them, and they can read and post', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club');
    await alice.send(chatId, 'before bob');
    const res = await alice.post(`/api/chats/${chatId}/members`, { userId: bob.userId });
    expect(res.status).toBe(201);
    expect(memberIds(chatOf(res))).toEqual([alice.userId, bob.userId].sort());
    const event = await h.recorder.next(
      (e) => e.type === 'chat:added' && e.chatId === chatId && e.userIds.includes(bob.userId),
    );
    expect(event).toMatchObject({ userIds: [bob.userId], chat: { id: chatId } });
    expect(
      ((await bob.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] }).messages,
    ).toHaveLength(1);
    expect((await bob.send(chatId, 'hi all')).status).toBe(201);
  });

  test('adding a current member again changes nothing: 200', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    const res = await alice.post(`/api/chats/${chatId}/members`, { userId: bob.userId });
    expect(res.status).toBe(200);
    expect(chatOf(res).members).toHaveLength(2);
  });

  test('adding an unknown user is 404 user_not_found', async () => {
    const alice = await register('alice');
    const chatId = await alice.createGroup();
    const res = await alice.post(`/api/chats/${chatId}/members`, { userId: newId() });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('user_not_found');
  });

  test('a member who is not the owner cannot add or remove others: 403', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    const add = await bob.post(`/api/chats/${chatId}/members`, { userId: carol.userId });
    expect(add.status).toBe(403);
    expect(add.body.error.code).toBe('not_owner');
    expect((await bob.delete(`/api/chats/${chatId}/members/${alice.userId}`)).status).toBe(403);
    expect(memberIds(chatOf(await alice.get(`/api/chats/${chatId}`)))).toEqual(
      [alice.userId, bob.userId].sort(),
    );
  });

  test("a non-member cannot add anyone to someone else's chat: 404", async () => {
    const [alice, mallory] = [await register('alice'), await register('mallory')];
    const chatId = await alice.createGroup();
    const res = await mallory.post(`/api/chats/${chatId}/members`, { userId: mallory.userId });
    expect(res.status).toBe(404);
    expect(memberIds(chatOf(await alice.get(`/api/chats/${chatId}`)))).toEqual([alice.userId]);
  });

  test('the owner removes a member: 204, chat:removed, and they lose access at once', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    // A send just before the removal: the send path's membership cache must not let the next one through.
    expect((await bob.send(chatId, 'hello')).status).toBe(201);
    expect((await alice.delete(`/api/chats/${chatId}/members/${bob.userId}`)).status).toBe(204);
    expect(await h.recorder.next((e) => e.type === 'chat:removed' && e.chatId === chatId)).toEqual({
      type: 'chat:removed',
      chatId,
      userIds: [bob.userId],
    });
    expect((await bob.get(`/api/chats/${chatId}`)).status).toBe(404);
    expect((await bob.send(chatId, 'still here?')).status).toBe(404);
  });

  test('removing someone who is not a member is 404 member_not_found', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup();
    const res = await alice.delete(`/api/chats/${chatId}/members/${bob.userId}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('member_not_found');
  });

  test('a member leaves by removing themself: 204', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    expect((await bob.delete(`/api/chats/${chatId}/members/${bob.userId}`)).status).toBe(204);
    expect(memberIds(chatOf(await alice.get(`/api/chats/${chatId}`)))).toEqual([alice.userId]);
  });

  test('when the owner leaves, the earliest remaining member becomes owner', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    await alice.post(`/api/chats/${chatId}/members`, { userId: carol.userId });
    expect((await alice.delete(`/api/chats/${chatId}/members/${alice.userId}`)).status).toBe(204);
    const chat = chatOf(await bob.get(`/api/chats/${chatId}`));
    expect(chat.ownerId).toBe(bob.userId);
    expect(chat.members?.find((m) => m.userId === bob.userId)?.role).toBe('owner');
    expect((await bob.delete(`/api/chats/${chatId}/members/${carol.userId}`)).status).toBe(204);
  });
});

describe('between members', () => {
  test('only the sender edits or deletes: another member gets 403 and the message is untouched', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    const sent = messageOf(await alice.send(chatId, 'mine'));
    const edit = await bob.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'yours now' });
    expect(edit.status).toBe(403);
    expect(edit.body.error.code).toBe('not_sender');
    expect((await bob.delete(`/api/chats/${chatId}/messages/${sent.id}`)).status).toBe(403);
    const listed = (await bob.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] };
    expect(listed.messages).toEqual([sent]);
  });

  test("unread counts others' messages above my read marker; reading publishes chat:read", async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    for (let i = 1; i <= 3; i++) await bob.send(chatId, `b${i}`);
    await alice.send(chatId, 'a4');
    await bob.send(chatId, 'b5');
    const summary = (c: ChatClient) =>
      c.get('/api/chats').then((r) => (r.body as { chats: ChatSummary[] }).chats[0]);
    // Alice's own send moved her marker to 4, so only b5 is unread; bob has read up to his own b5.
    expect(await summary(alice)).toMatchObject({ unread: 1, lastSeq: 5, lastMessage: { text: 'b5' } });
    expect(await summary(bob)).toMatchObject({ unread: 0 });
    expect((await alice.post(`/api/chats/${chatId}/read`, { seq: 5 })).status).toBe(204);
    expect(await summary(alice)).toMatchObject({ unread: 0 });
    expect(
      await h.recorder.next(
        (e) => e.type === 'chat:read' && e.chatId === chatId && e.userId === alice.userId,
      ),
    ).toEqual({
      type: 'chat:read',
      chatId,
      userId: alice.userId,
      seq: 5,
    });
  });

  test('50 members sending at once get seq 1..50 with no gap or duplicate', async () => {
    const owner = await register('owner');
    // Registered one after another: auth bounds its password-hashing queue (503 busy beyond it).
    const senders: ChatClient[] = [];
    for (let i = 0; i < 50; i++) senders.push(await register(`s${i}`));
    const chatId = await owner.createGroup(
      'crowd',
      senders.map((s) => s.userId),
    );
    const answers = await Promise.all(senders.map((s, i) => s.send(chatId, `from ${i}`, `crowd-${i}`)));
    expect(answers.map((r) => r.status)).toEqual(senders.map(() => 201));
    const page = (await owner.get(`/api/chats/${chatId}/messages?limit=100`)).body as { messages: Message[] };
    expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(page.messages.map((m) => m.senderId)).size).toBe(50);
    // However the sends were batched, the chat and every sender's read marker record them.
    const chat = chatOf(await owner.get(`/api/chats/${chatId}`));
    expect(chat.lastSeq).toBe(50);
    const seqBySender = new Map(page.messages.map((m) => [m.senderId, m.seq]));
    for (const member of chat.members ?? []) {
      expect(member.lastReadSeq).toBe(seqBySender.get(member.userId) ?? 0);
    }
  });
});
