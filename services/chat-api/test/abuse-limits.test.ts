import request from 'supertest';
import type { ChatPage, Message } from '@cohort/common';
import { ChatClient, startHarness, type Harness } from './support';

// docs/security.md: per-user limits on chat creation, member additions and edits; 429 `rate_limited` with
// Retry-After, and a refused request changes nothing. Small limits here; the defaults are in config.ts.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    withAuth: true,
    env: {
      CHAT_CREATE_RATE_LIMIT: '3/600s',
      MEMBER_ADD_RATE_LIMIT: '4/600s',
      MESSAGE_EDIT_RATE_LIMIT: '3/60s',
    },
  });
});
afterAll(async () => {
  await h.close();
});

const register = async (name: string) => new ChatClient(h, await h.auth!.register(name));
const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;
const chatIdsOf = async (client: ChatClient) =>
  ((await client.get('/api/chats?limit=100')).body as ChatPage).chats.map((c) => c.id);

function expectRateLimited(res: {
  status: number;
  body: { error?: { code: string } };
  headers: Record<string, string>;
}) {
  expect(res.status).toBe(429);
  expect(res.body.error?.code).toBe('rate_limited');
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

describe('chat creation per user', () => {
  test('the fourth chat in the window is a 429 with Retry-After and creates nothing; others are unaffected', async () => {
    const [alice, bob, carol] = [await register('alice'), await register('bob'), await register('carol')];
    await alice.createGroup('one');
    await alice.createGroup('two');
    await alice.post('/api/chats', { type: 'direct', userId: bob.userId });
    const before = await chatIdsOf(alice);
    expect(before).toHaveLength(3);

    expectRateLimited(await alice.post('/api/chats', { type: 'group', title: 'four' }));
    expectRateLimited(await alice.post('/api/chats', { type: 'direct', userId: carol.userId }));
    expect(await chatIdsOf(alice)).toEqual(before);
    expect(await chatIdsOf(carol)).toEqual([]);

    // Opening the direct chat that exists creates nothing, so it is not refused.
    expect((await alice.post('/api/chats', { type: 'direct', userId: bob.userId })).status).toBe(200);
    // The limit is per user.
    expect((await bob.post('/api/chats', { type: 'group', title: 'bob' })).status).toBe(201);
  });

  test('a refused or invalid creation costs no budget', async () => {
    const [alice] = [await register('alice')];
    const unknown = '0123456789abcdef01234567';
    for (let i = 0; i < 5; i++) {
      const res = await alice.post('/api/chats', { type: 'group', title: 'x', memberIds: [unknown] });
      expect(res.status).toBe(404);
    }
    for (let i = 0; i < 3; i++)
      expect((await alice.post('/api/chats', { type: 'group', title: `ok ${i}` })).status).toBe(201);
  });
});

describe('limits across replicas', () => {
  test('two chat-api replicas share one budget (Redis)', async () => {
    const replica = await h.startReplica();
    const alice = await register('alice');
    const onReplica = new ChatClient(
      { identity: (id) => h.identity(id), http: () => request(`http://127.0.0.1:${replica.port}`) },
      alice.userId,
    );
    await alice.createGroup('one');
    await onReplica.createGroup('two');
    await alice.createGroup('three');
    expectRateLimited(await onReplica.post('/api/chats', { type: 'group', title: 'four' }));
  });
});

describe('member additions per user', () => {
  test('past the budget an addition is a 429 and the member is not added', async () => {
    const owner = await register('owner');
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await register(`u${i}`));
    // Three at creation and one more: four additions, the whole budget.
    const chatId = await owner.createGroup(
      'club',
      users.slice(0, 3).map((u) => u.userId),
    );
    expect((await owner.post(`/api/chats/${chatId}/members`, { userId: users[3]!.userId })).status).toBe(201);
    // Re-adding a member adds nobody and costs nothing.
    expect((await owner.post(`/api/chats/${chatId}/members`, { userId: users[0]!.userId })).status).toBe(200);

    const refused = await owner.post(`/api/chats/${chatId}/members`, { userId: users[4]!.userId });
    expectRateLimited(refused);
    const members = (
      (await owner.get(`/api/chats/${chatId}`)).body as { chat: { members: { userId: string }[] } }
    ).chat.members;
    expect(members.map((m) => m.userId)).not.toContain(users[4]!.userId);
    expect(members).toHaveLength(5);
    expect(await chatIdsOf(users[4]!)).toEqual([]);
  });

  test('a group created with more members than the budget left is a 429 and is not created', async () => {
    const owner = await register('owner');
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await register(`m${i}`));
    const res = await owner.post('/api/chats', {
      type: 'group',
      title: 'big',
      memberIds: users.map((u) => u.userId),
    });
    expectRateLimited(res);
    expect(await chatIdsOf(owner)).toEqual([]);
    // Nothing was taken by the refusal: four additions still fit.
    const ok = await owner.post('/api/chats', {
      type: 'group',
      title: 'fits',
      memberIds: users.slice(0, 4).map((u) => u.userId),
    });
    expect(ok.status).toBe(201);
  });
});

describe('message edits per user', () => {
  test('the fourth edit in the window is a 429 and the text stays; sends are not affected', async () => {
    const alice = await register('alice');
    const chatId = await alice.createGroup('edits');
    const sent = messageOf(await alice.send(chatId, 'v1'));
    for (let i = 2; i <= 4; i++) {
      const res = await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: `v${i}` });
      expect(res.status).toBe(200);
    }
    const refused = await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'v5' });
    expectRateLimited(refused);
    const [stored] = ((await alice.get(`/api/chats/${chatId}/messages`)).body as { messages: Message[] })
      .messages;
    expect(stored).toMatchObject({ text: 'v4', version: 4 });
    expect((await alice.send(chatId, 'still sending')).status).toBe(201);
  });
});
