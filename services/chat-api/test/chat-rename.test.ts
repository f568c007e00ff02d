import type { Chat } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';
import { errorCodeOf } from './support/conversations';

// PATCH /api/chats/:chatId {title}: the owner renames a group; members get chat:changed.
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
const titleOf = async (client: ChatClient, chatId: string) =>
  chatOf(await client.get(`/api/chats/${chatId}`)).title;

describe('renaming a chat', () => {
  test('the owner renames (title trimmed): 200 {chat} with members, and chat:changed is published', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('before', [bob.userId]);
    const res = await alice.patch(`/api/chats/${chatId}`, { title: '  Book club  ' });
    expect(res.status).toBe(200);
    const chat = chatOf(res);
    expect(chat).toMatchObject({ id: chatId, type: 'group', title: 'Book club', ownerId: alice.userId });
    expect((chat.members ?? []).map((m) => m.userId).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(await titleOf(bob, chatId)).toBe('Book club');
    const event = await h.recorder.next((e) => e.type === 'chat:changed' && e.chatId === chatId);
    expect(event).toEqual({
      type: 'chat:changed',
      chatId,
      chat: { ...chat, members: undefined },
    });
    expect(event.type === 'chat:changed' && 'members' in event.chat).toBe(false);
  });

  test('accepts 100 characters and the same title again', async () => {
    const alice = await register('alice');
    const chatId = await alice.createGroup('g');
    const title = 'é'.repeat(100);
    expect((await alice.patch(`/api/chats/${chatId}`, { title })).status).toBe(200);
    expect((await alice.patch(`/api/chats/${chatId}`, { title })).status).toBe(200);
    expect(await titleOf(alice, chatId)).toBe(title);
  });

  test.each([
    ['blank', { title: '   ' }],
    ['empty', { title: '' }],
    ['101 characters', { title: 'x'.repeat(101) }],
    ['10 KB', { title: 'x'.repeat(10_240) }],
    ['a lone surrogate', { title: 'ok \ud800' }],
    ['a NUL', { title: 'a\u0000b' }],
    ['an operator object', { title: { $gt: '' } }],
    ['no title', {}],
    ['an unknown field', { title: 'ok', type: 'direct' }],
  ])('refuses %s with 400 validation_error and changes nothing', async (_name, body) => {
    const alice = await register('alice');
    const chatId = await alice.createGroup('kept');
    const res = await alice.patch(`/api/chats/${chatId}`, body);
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'validation_error']);
    expect(await titleOf(alice, chatId)).toBe('kept');
  });

  test('a member who is not the owner: 403 not_owner; a non-member: 404; nothing changes', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('kept', [bob.userId]);
    const byMember = await bob.patch(`/api/chats/${chatId}`, { title: 'mine now' });
    expect([byMember.status, errorCodeOf(byMember)]).toEqual([403, 'not_owner']);
    const stranger = new ChatClient(h, newId());
    const byStranger = await stranger.patch(`/api/chats/${chatId}`, { title: 'mine now' });
    expect([byStranger.status, errorCodeOf(byStranger)]).toEqual([404, 'chat_not_found']);
    const unknown = await alice.patch(`/api/chats/${newId()}`, { title: 'x' });
    expect([unknown.status, errorCodeOf(unknown)]).toEqual([404, 'chat_not_found']);
    expect(await titleOf(alice, chatId)).toBe('kept');
    expect(h.recorder.ofChat(chatId).filter((e) => e.type === 'chat:changed')).toEqual([]);
  });

  test('a direct chat cannot be renamed: 403 direct_chat_fixed', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = chatOf(await alice.post('/api/chats', { type: 'direct', userId: bob.userId })).id;
    const res = await alice.patch(`/api/chats/${chatId}`, { title: 'us' });
    expect([res.status, errorCodeOf(res)]).toEqual([403, 'direct_chat_fixed']);
    expect(await titleOf(bob, chatId)).toBe('');
  });

  test('after the owner leaves, the new owner may rename and the old one may not', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('g', [bob.userId]);
    expect((await alice.delete(`/api/chats/${chatId}/members/${alice.userId}`)).status).toBe(204);
    expect((await bob.patch(`/api/chats/${chatId}`, { title: 'bob’s' })).status).toBe(200);
    expect((await alice.patch(`/api/chats/${chatId}`, { title: 'back' })).status).toBe(404);
  });
});
