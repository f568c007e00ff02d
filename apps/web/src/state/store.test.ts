import { describe, expect, it } from 'vitest';
import type { ChatSummary, Message } from '../contract';
import { initialState, reducer, sortedChats, type Action, type ChatState } from './store';

const me = 'a'.repeat(24);
const ada = 'b'.repeat(24);

function chat(id: string, over: Partial<ChatSummary> = {}): ChatSummary {
  return {
    id,
    type: 'direct',
    title: '',
    ownerId: me,
    lastSeq: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    lastMessageAt: null,
    lastMessage: null,
    unread: 0,
    mentionsUnread: 0,
    ...over,
  };
}

function msg(chatId: string, seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `${chatId}-${seq}`,
    chatId,
    seq,
    senderId: ada,
    text: `m${seq}`,
    clientMsgId: `cm-${chatId}-${seq}`,
    createdAt: new Date(Date.UTC(2025, 0, 2, 0, 0, seq)).toISOString(),
    version: 1,
    ...over,
  };
}

function run(state: ChatState, ...actions: Action[]): ChatState {
  return actions.reduce(reducer, state);
}

const withChats = (...chats: ChatSummary[]) =>
  run(initialState(me), { type: 'chats/loaded', chats, nextCursor: null });

describe('chat list', () => {
  it('puts the chat with the newest activity first', () => {
    const state = withChats(
      chat('c1', { lastMessageAt: '2025-01-01T10:00:00.000Z' }),
      chat('c2', { lastMessageAt: '2025-01-01T12:00:00.000Z' }),
      chat('c3'),
    );
    expect(sortedChats(state.chats).map((c) => c.id)).toEqual(['c2', 'c1', 'c3']);
  });

  it('bumps a chat to the top and counts unread when a message arrives elsewhere', () => {
    const state = run(withChats(chat('c1', { lastMessageAt: '2025-01-01T10:00:00.000Z' }), chat('c2')), {
      type: 'messages/received',
      chatId: 'c2',
      messages: [msg('c2', 1)],
      viewing: false,
    });
    expect(sortedChats(state.chats)[0]?.id).toBe('c2');
    expect(state.chats.c2).toMatchObject({ unread: 1, lastSeq: 1, lastMessage: { text: 'm1' } });
  });

  it('counts a message once however many times it is delivered', () => {
    const once: Action = {
      type: 'messages/received',
      chatId: 'c1',
      messages: [msg('c1', 1)],
      viewing: false,
    };
    const state = run(withChats(chat('c1')), once, once, {
      type: 'messages/received',
      chatId: 'c1',
      messages: [msg('c1', 1), msg('c1', 2)],
      viewing: false,
    });
    expect(state.chats.c1?.unread).toBe(2);
  });

  it('does not count my own messages or messages in the chat I am looking at', () => {
    const state = run(
      withChats(chat('c1'), chat('c2')),
      { type: 'messages/received', chatId: 'c1', messages: [msg('c1', 1, { senderId: me })], viewing: false },
      { type: 'messages/received', chatId: 'c2', messages: [msg('c2', 1)], viewing: true },
    );
    expect(state.chats.c1?.unread).toBe(0);
    expect(state.chats.c2?.unread).toBe(0);
  });

  it('keeps newer local activity when a stale list reply lands after a live event', () => {
    const state = run(
      withChats(chat('c1')),
      { type: 'messages/received', chatId: 'c1', messages: [msg('c1', 1)], viewing: false },
      { type: 'chats/loaded', chats: [chat('c1')], nextCursor: null },
    );
    expect(state.chats.c1).toMatchObject({ lastSeq: 1, unread: 1 });
  });

  it('clears the badge when I read the chat on another device', () => {
    const state = run(withChats(chat('c1', { lastSeq: 3, unread: 3 })), {
      type: 'read',
      chatId: 'c1',
      userId: me,
      seq: 3,
    });
    expect(state.chats.c1?.unread).toBe(0);
  });

  it('forgets a chat I was removed from and leaves it if it was open', () => {
    const state = run(
      withChats(chat('c1')),
      { type: 'active', chatId: 'c1' },
      { type: 'chat/removed', chatId: 'c1' },
    );
    expect(state.chats.c1).toBeUndefined();
    expect(state.activeChatId).toBeNull();
  });
});

describe('threads', () => {
  it('keeps no messages for chats never opened, and merges live ones into opened chats', () => {
    let state = run(withChats(chat('c1')), {
      type: 'messages/received',
      chatId: 'c1',
      messages: [msg('c1', 1)],
      viewing: false,
    });
    expect(state.threads.c1).toBeUndefined();
    state = run(
      state,
      { type: 'thread/loaded', chatId: 'c1', messages: [msg('c1', 1)], mode: 'latest', limit: 50 },
      { type: 'messages/received', chatId: 'c1', messages: [msg('c1', 2)], viewing: true },
    );
    expect(state.threads.c1?.items.map((m) => m.seq)).toEqual([1, 2]);
    expect(state.threads.c1?.reachedStart).toBe(true);
  });

  it('knows more history exists when a full page came back above seq 1', () => {
    const page = Array.from({ length: 50 }, (_, i) => msg('c1', i + 51));
    const state = run(withChats(chat('c1', { lastSeq: 100 })), {
      type: 'thread/loaded',
      chatId: 'c1',
      messages: page,
      mode: 'latest',
      limit: 50,
    });
    expect(state.threads.c1?.reachedStart).toBe(false);
  });

  it('shows the edit or delete of the last message in the chat list preview', () => {
    const state = run(
      withChats(chat('c1')),
      { type: 'messages/received', chatId: 'c1', messages: [msg('c1', 1)], viewing: false },
      { type: 'message/changed', message: msg('c1', 1, { text: '', deletedAt: '2025-01-03T00:00:00.000Z' }) },
    );
    expect(state.chats.c1?.lastMessage?.deletedAt).toBe('2025-01-03T00:00:00.000Z');
  });

  it('stops showing someone as typing once their message arrives', () => {
    const state = run(
      withChats(chat('c1')),
      { type: 'typing', chatId: 'c1', userId: ada, until: Date.now() + 4000 },
      { type: 'messages/received', chatId: 'c1', messages: [msg('c1', 1)], viewing: false },
    );
    expect(state.typing.c1?.[ada]).toBeUndefined();
  });
});

describe('read markers', () => {
  const members = [
    { userId: me, role: 'owner' as const, joinedAt: '2025-01-01T00:00:00.000Z', lastReadSeq: 0 },
    { userId: ada, role: 'member' as const, joinedAt: '2025-01-01T00:00:00.000Z', lastReadSeq: 0 },
  ];

  it('treats a message as its sender having read up to it', () => {
    const state = run(withChats(chat('c1', { members })), {
      type: 'messages/received',
      chatId: 'c1',
      messages: [msg('c1', 1, { senderId: me }), msg('c1', 2)],
      viewing: true,
    });
    expect(state.chats.c1?.members?.find((m) => m.userId === ada)?.lastReadSeq).toBe(2);
  });

  it('moves a member’s marker forward on chat:read, never back', () => {
    const state = run(
      withChats(chat('c1', { members, lastSeq: 5 })),
      { type: 'read', chatId: 'c1', userId: ada, seq: 4 },
      { type: 'read', chatId: 'c1', userId: ada, seq: 2 },
    );
    expect(state.chats.c1?.members?.find((m) => m.userId === ada)?.lastReadSeq).toBe(4);
  });

  it('hides presence dots while disconnected (they would be guesses)', () => {
    const state = run(
      withChats(chat('c1')),
      { type: 'connection', status: 'connected' },
      { type: 'presence', userId: ada, online: true },
      { type: 'connection', status: 'disconnected' },
    );
    expect(state.online[ada]).toBeUndefined();
  });
});

/** A chat whose last activity is `minute` minutes past 10:00 on 2025-01-01. */
const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 10, minute)).toISOString();
const active = (id: string, minute: number) => chat(id, { lastMessageAt: at(minute), lastSeq: 1 });
const ids = (state: ChatState) => sortedChats(state.chats).map((c) => c.id);

describe('chat list paging', () => {
  const first = [active('c9', 9), active('c8', 8), active('c7', 7)];
  const second = [active('c6', 6), active('c5', 5)];

  it('adds further pages to the ones held, in activity order, and remembers where the next one starts', () => {
    let state = run(initialState(me), { type: 'chats/loaded', chats: first, nextCursor: 'p2' });
    expect(state.chatsCursor).toBe('p2');
    state = run(state, { type: 'chats/page', chats: second, nextCursor: null });
    expect(ids(state)).toEqual(['c9', 'c8', 'c7', 'c6', 'c5']);
    expect(state.chatsCursor).toBeNull();
    expect(state.chatsLoadingMore).toBe(false);
  });

  it('keeps later pages when the first page is reloaded, and the deeper cursor with them', () => {
    const state = run(
      initialState(me),
      { type: 'chats/loaded', chats: first, nextCursor: 'p2' },
      { type: 'chats/page', chats: second, nextCursor: 'p3' },
      // c5 got a message: it is now on the first page, c7 moved to the second.
      {
        type: 'chats/loaded',
        chats: [active('c5', 10), active('c9', 9), active('c8', 8)],
        nextCursor: 'p2b',
      },
    );
    expect(ids(state)).toEqual(['c5', 'c9', 'c8', 'c7', 'c6']);
    expect(state.chatsCursor).toBe('p3');
  });

  it('drops a held chat that a reloaded first page shows is gone (newer than the page’s oldest, yet absent)', () => {
    const state = run(
      initialState(me),
      { type: 'chats/loaded', chats: first, nextCursor: 'p2' },
      { type: 'chats/page', chats: second, nextCursor: null },
      // I left c8 while chat:removed was lost; c6 is simply beyond this page.
      { type: 'chats/loaded', chats: [active('c9', 9), active('c7', 7)], nextCursor: 'p2b' },
    );
    expect(ids(state)).toEqual(['c9', 'c7', 'c6', 'c5']);
  });

  it('drops every absent chat when the first page is the whole list', () => {
    const state = run(
      initialState(me),
      { type: 'chats/loaded', chats: first, nextCursor: null },
      { type: 'chats/loaded', chats: [active('c9', 9)], nextCursor: null },
    );
    expect(ids(state)).toEqual(['c9']);
    expect(state.chatsCursor).toBeNull();
  });

  it('shows a chat added or written to that no loaded page held, in its place by activity', () => {
    const added = chat('new', { type: 'group', title: 'New group', createdAt: at(20) });
    const state = run(
      initialState(me),
      { type: 'chats/loaded', chats: first, nextCursor: 'p2' },
      { type: 'chat/upsert', chat: added },
      {
        type: 'messages/received',
        chatId: 'c7',
        messages: [msg('c7', 2, { createdAt: at(30) })],
        viewing: false,
      },
    );
    expect(ids(state)).toEqual(['c7', 'new', 'c9', 'c8']);
    expect(state.chats.new).toMatchObject({ lastMessage: null, unread: 0 });
    expect(state.chats.c7).toMatchObject({ lastSeq: 2, unread: 1 });
  });

  it('tracks a load in progress', () => {
    const state = run(
      initialState(me),
      { type: 'chats/loaded', chats: first, nextCursor: 'p2' },
      { type: 'chats/loading-more', loading: true },
    );
    expect(state.chatsLoadingMore).toBe(true);
    expect(run(state, { type: 'chats/page', chats: second, nextCursor: null }).chatsLoadingMore).toBe(false);
  });
});

describe('versions in the chat list preview', () => {
  it('never goes back to an older edit of the last message when events arrive out of order', () => {
    const v3 = msg('c1', 1, { text: 'third', editedAt: at(3), version: 3 });
    const v2 = msg('c1', 1, { text: 'second', editedAt: at(3), version: 2 });
    const state = run(
      withChats(chat('c1')),
      { type: 'messages/received', chatId: 'c1', messages: [msg('c1', 1)], viewing: false },
      { type: 'message/changed', message: v3 },
      { type: 'message/changed', message: v2 },
    );
    expect(state.chats.c1?.lastMessage?.text).toBe('third');
  });

  it('keeps the later edit when a list reply carries an older copy of the last message', () => {
    const state = run(
      withChats(chat('c1', { lastSeq: 1, lastMessage: msg('c1', 1) })),
      { type: 'message/changed', message: msg('c1', 1, { text: 'edited', version: 2 }) },
      {
        type: 'chats/loaded',
        chats: [chat('c1', { lastSeq: 1, lastMessage: msg('c1', 1) })],
        nextCursor: null,
      },
    );
    expect(state.chats.c1?.lastMessage).toMatchObject({ text: 'edited', version: 2 });
  });
});

describe('blocking', () => {
  it('holds who I blocked, page by page, and follows block / unblock', () => {
    let state = run(initialState(me), {
      type: 'blocked/loaded',
      users: [{ id: ada, blockedAt: at(1) }],
      nextCursor: 'b2',
      first: true,
    });
    state = run(state, {
      type: 'blocked/loaded',
      users: [{ id: 'c'.repeat(24), blockedAt: at(0) }],
      nextCursor: null,
      first: false,
    });
    expect(Object.keys(state.blocked)).toEqual([ada, 'c'.repeat(24)]);
    expect(state.blockedCursor).toBeNull();
    state = run(
      state,
      { type: 'blocked/changed', userId: ada, blockedAt: null },
      { type: 'blocked/changed', userId: 'd'.repeat(24), blockedAt: at(5) },
    );
    expect(state.blocked).toEqual({ ['c'.repeat(24)]: at(0), ['d'.repeat(24)]: at(5) });
    // A reload from the first page replaces what was held.
    state = run(state, { type: 'blocked/loaded', users: [], nextCursor: null, first: true });
    expect(state.blocked).toEqual({});
  });

  it('does not show someone I blocked as typing', () => {
    const state = run(
      withChats(chat('c1')),
      { type: 'blocked/changed', userId: ada, blockedAt: at(1) },
      { type: 'typing', chatId: 'c1', userId: ada, until: Date.now() + 4_000 },
    );
    expect(state.typing.c1?.[ada]).toBeUndefined();
  });
});

describe('connection refusals', () => {
  it('keeps why the server refused the socket until it connects again', () => {
    let state = run(initialState(me), {
      type: 'connection',
      status: 'disconnected',
      reason: 'too_many_connections',
    });
    expect(state.connectionReason).toBe('too_many_connections');
    state = run(state, { type: 'connection', status: 'connected' });
    expect(state.connectionReason).toBeNull();
  });
});
