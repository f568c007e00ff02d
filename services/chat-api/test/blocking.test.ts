import type { BlockedUser, Chat, ChatPage } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import { blockedByStrangers } from './support/blocks';
import { storeCallsDuring } from './support/query-log';
import { ChatClient, newId, startHarness, type Harness } from './support';

// docs/security.md: someone who blocked you cannot be added by you to a group, and cannot be sent a direct
// message by you (opening the direct chat or sending into the one you share): 403 `blocked`.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withAuth: true });
});
afterAll(async () => {
  await h.close();
});

const register = async (name: string) => new ChatClient(h, await h.auth!.register(name));
const chatOf = (res: { body: unknown }) => (res.body as { chat: Chat }).chat;
const blockedOf = (res: { body: unknown }) => res.body as { users: BlockedUser[]; nextCursor: string | null };
const put = async (client: ChatClient, path: string) =>
  h
    .http()
    .put(path)
    .set('x-cohort-identity', await h.identity(client.userId));

function expectBlocked(res: { status: number; body: { error?: { code: string } } }) {
  expect(res.status).toBe(403);
  expect(res.body.error?.code).toBe('blocked');
}

describe('PUT / DELETE /api/users/:userId/block, GET /api/users/blocked', () => {
  test('block and unblock answer 204 and are idempotent; the list shows who is blocked', async () => {
    const [bob, mallory, eve] = [await register('bob'), await register('mallory'), await register('eve')];
    expect((await put(bob, `/api/users/${mallory.userId}/block`)).status).toBe(204);
    expect((await put(bob, `/api/users/${mallory.userId}/block`)).status).toBe(204);
    expect((await put(bob, `/api/users/${eve.userId}/block`)).status).toBe(204);
    const listed = blockedOf(await bob.get('/api/users/blocked'));
    expect(listed.users.map((u) => u.id)).toEqual([mallory.userId, eve.userId].sort());
    expect(listed.users[0]).toEqual({ id: expect.any(String), blockedAt: expect.any(String) });
    expect(listed.nextCursor).toBeNull();
    // Blocks are the blocker's own: mallory's list is empty.
    expect(blockedOf(await mallory.get('/api/users/blocked')).users).toEqual([]);

    expect((await bob.delete(`/api/users/${mallory.userId}/block`)).status).toBe(204);
    expect((await bob.delete(`/api/users/${mallory.userId}/block`)).status).toBe(204);
    expect(blockedOf(await bob.get('/api/users/blocked')).users.map((u) => u.id)).toEqual([eve.userId]);
  });

  test('the list is paged', async () => {
    const bob = await register('bob');
    const others = [await register('a'), await register('b'), await register('c')];
    for (const other of others) await put(bob, `/api/users/${other.userId}/block`);
    const first = blockedOf(await bob.get('/api/users/blocked?limit=2'));
    expect(first.users).toHaveLength(2);
    const second = blockedOf(await bob.get(`/api/users/blocked?limit=2&cursor=${first.nextCursor}`));
    expect(second.nextCursor).toBeNull();
    expect([...first.users, ...second.users].map((u) => u.id)).toEqual(others.map((o) => o.userId).sort());
    expect((await bob.get('/api/users/blocked?limit=0')).status).toBe(400);
    expect((await bob.get('/api/users/blocked?cursor=zzz')).status).toBe(400);
  });

  test('blocking yourself is a 400, an unknown user a 404, a malformed id a 400', async () => {
    const bob = await register('bob');
    const self = await put(bob, `/api/users/${bob.userId}/block`);
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('invalid_block');
    const unknown = await put(bob, `/api/users/${newId()}/block`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('user_not_found');
    expect((await put(bob, '/api/users/not-an-id/block')).status).toBe(400);
    expect(blockedOf(await bob.get('/api/users/blocked')).users).toEqual([]);
  });

  test('the routes need the forwarded identity', async () => {
    expect((await h.http().get('/api/users/blocked')).status).toBe(401);
    expect((await h.http().put(`/api/users/${newId()}/block`)).status).toBe(401);
  });
});

describe('what a block prevents', () => {
  test('the blocked user cannot add the blocker to a group (nor create a group with them); others still can', async () => {
    const [bob, mallory, carol] = [await register('bob'), await register('mallory'), await register('carol')];
    await put(bob, `/api/users/${mallory.userId}/block`);

    const chatId = await mallory.createGroup('trap');
    expectBlocked(await mallory.post(`/api/chats/${chatId}/members`, { userId: bob.userId }));
    expectBlocked(
      await mallory.post('/api/chats', { type: 'group', title: 'trap 2', memberIds: [bob.userId] }),
    );
    expect(((await bob.get('/api/chats')).body as ChatPage).chats).toEqual([]);
    expect(chatOf(await mallory.get(`/api/chats/${chatId}`)).members?.map((m) => m.userId)).toEqual([
      mallory.userId,
    ]);

    const carols = await carol.createGroup('fine', [bob.userId]);
    expect(chatOf(await carol.get(`/api/chats/${carols}`)).members).toHaveLength(2);
    // The block is one-way: bob can still add mallory.
    const bobs = await bob.createGroup('bob');
    expect((await bob.post(`/api/chats/${bobs}/members`, { userId: mallory.userId })).status).toBe(201);
  });

  test('the blocked user cannot open a direct chat with the blocker', async () => {
    const [bob, mallory] = [await register('bob'), await register('mallory')];
    await put(bob, `/api/users/${mallory.userId}/block`);
    expectBlocked(await mallory.post('/api/chats', { type: 'direct', userId: bob.userId }));
    expect(((await bob.get('/api/chats')).body as ChatPage).chats).toEqual([]);
    expect(((await mallory.get('/api/chats')).body as ChatPage).chats).toEqual([]);
  });

  test('the blocked user cannot send into the direct chat they share, at once; unblocking lets them again', async () => {
    const [bob, mallory] = [await register('bob'), await register('mallory')];
    const chatId = chatOf(await mallory.post('/api/chats', { type: 'direct', userId: bob.userId })).id;
    // A send first, so the send path's membership cache holds mallory's membership.
    expect((await mallory.send(chatId, 'hi')).status).toBe(201);

    await put(bob, `/api/users/${mallory.userId}/block`);
    expectBlocked(await mallory.send(chatId, 'are you there?'));
    // Bob still writes to mallory (the block is bob's choice), and reopening the chat is still refused.
    expect((await bob.send(chatId, 'bye')).status).toBe(201);
    expectBlocked(await mallory.post('/api/chats', { type: 'direct', userId: bob.userId }));
    const texts = ((await bob.get(`/api/chats/${chatId}/messages`)).body as { messages: { text: string }[] })
      .messages;
    expect(texts.map((m) => m.text)).toEqual(['hi', 'bye']);

    await bob.delete(`/api/users/${mallory.userId}/block`);
    expect((await mallory.send(chatId, 'thanks')).status).toBe(201);
  });

  test('a block in a group changes nothing there; a non-member still gets 404, not 403', async () => {
    const [bob, mallory, carol] = [await register('bob'), await register('mallory'), await register('carol')];
    const group = await carol.createGroup('group', [bob.userId, mallory.userId]);
    await put(bob, `/api/users/${mallory.userId}/block`);
    expect((await mallory.send(group, 'in the group')).status).toBe(201);

    const direct = chatOf(await bob.post('/api/chats', { type: 'direct', userId: carol.userId })).id;
    const outsider = await mallory.send(direct, 'not mine');
    expect(outsider.status).toBe(404);
  });

  test('a send into a chat known to be a group reads no block; one into a direct chat does', async () => {
    const [bob, mallory, carol] = [await register('bob'), await register('mallory'), await register('carol')];
    const group = await carol.createGroup('group', [bob.userId, mallory.userId]);
    const direct = chatOf(await bob.post('/api/chats', { type: 'direct', userId: mallory.userId })).id;
    // Carol's and bob's sends make chat-api read both chats' types; mallory has sent nowhere yet.
    expect((await carol.send(group, 'first')).status).toBe(201);
    expect((await bob.send(direct, 'first')).status).toBe(201);
    const inGroup = await storeCallsDuring(['blocks'], async () => {
      expect((await mallory.send(group, 'in the group')).status).toBe(201);
    });
    expect(inGroup).toEqual([]);
    const inDirect = await storeCallsDuring(['blocks'], async () => {
      expect((await mallory.send(direct, 'direct')).status).toBe(201);
    });
    expect(inDirect.length).toBe(1);
  });
});

describe('block partners for realtime (docs/security.md: no typing or presence across a block)', () => {
  const partnersOf = async (client: ChatClient) => {
    const res = await client.get('/internal/memberships');
    expect(res.status).toBe(200);
    return (res.body as { chatIds: string[]; blockPartners: string[] }).blockPartners.sort();
  };
  const blockEvent = (a: string, b: string, blocked: boolean) =>
    h.recorder.next(
      (e) => e.type === 'users:block' && e.userIds[0] === a && e.userIds[1] === b && e.blocked === blocked,
    );

  test('/internal/memberships names the users in a block relation with the caller, either way, with its chats', async () => {
    const [bob, mallory, eve, carol] = [
      await register('bob'),
      await register('mallory'),
      await register('eve'),
      await register('carol'),
    ];
    const group = await bob.createGroup();
    expect(await partnersOf(bob)).toEqual([]);

    await put(bob, `/api/users/${mallory.userId}/block`);
    await put(eve, `/api/users/${bob.userId}/block`);
    const res = await bob.get('/internal/memberships');
    expect(res.body).toEqual({ chatIds: [group], blockPartners: expect.any(Array) });
    // Whom bob blocked and who blocked bob; carol, in neither relation, is not named.
    expect(await partnersOf(bob)).toEqual([mallory.userId, eve.userId].sort());
    expect(await partnersOf(mallory)).toEqual([bob.userId]);
    expect(await partnersOf(eve)).toEqual([bob.userId]);
    expect(await partnersOf(carol)).toEqual([]);
    // Blocked both ways, named once.
    await put(mallory, `/api/users/${bob.userId}/block`);
    expect(await partnersOf(bob)).toEqual([mallory.userId, eve.userId].sort());
    expect(await partnersOf(mallory)).toEqual([bob.userId]);

    await bob.delete(`/api/users/${mallory.userId}/block`);
    expect(await partnersOf(bob)).toEqual([mallory.userId, eve.userId].sort());
    await mallory.delete(`/api/users/${bob.userId}/block`);
    expect(await partnersOf(bob)).toEqual([eve.userId]);
    expect(await partnersOf(mallory)).toEqual([]);
  });

  test('blocking and unblocking publish users:block; an unblock that leaves the other block publishes nothing', async () => {
    const [bob, mallory] = [await register('bob'), await register('mallory')];
    await put(bob, `/api/users/${mallory.userId}/block`);
    expect(await blockEvent(bob.userId, mallory.userId, true)).toEqual({
      type: 'users:block',
      userIds: [bob.userId, mallory.userId],
      blocked: true,
    });
    await put(mallory, `/api/users/${bob.userId}/block`);
    await blockEvent(mallory.userId, bob.userId, true);

    // mallory still blocks bob: the pair stays in a block relation.
    await bob.delete(`/api/users/${mallory.userId}/block`);
    await mallory.delete(`/api/users/${bob.userId}/block`);
    await blockEvent(mallory.userId, bob.userId, false);
    const ended = h.recorder.events.filter((e) => e.type === 'users:block' && !e.blocked);
    expect(ended.filter((e) => e.type === 'users:block' && e.userIds.includes(bob.userId))).toEqual([
      { type: 'users:block', userIds: [mallory.userId, bob.userId], blocked: false },
    ]);
    // Unblocking someone not blocked publishes nothing either: the block after it (published in order by the
    // same connection) is the fence.
    await bob.delete(`/api/users/${mallory.userId}/block`);
    await put(bob, `/api/users/${mallory.userId}/block`);
    const ofPair = (blocked: boolean) =>
      h.recorder.events.filter(
        (e) => e.type === 'users:block' && e.blocked === blocked && e.userIds.includes(bob.userId),
      );
    await waitFor(() => expect(ofPair(true)).toHaveLength(3), 5000, 20);
    expect(ofPair(false)).toHaveLength(1);
  });

  test('the answer is bounded: at most 1,000 partners', async () => {
    const bob = await register('bob');
    await blockedByStrangers(h, bob.userId, 1001);
    const partners = await partnersOf(bob);
    expect(partners).toHaveLength(1000);
    expect(new Set(partners).size).toBe(1000);
  });
});
