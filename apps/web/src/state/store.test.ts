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
    ...over,
  };
}

function run(state: ChatState, ...actions: Action[]): ChatState {
  return actions.reduce(reducer, state);
}

const withChats = (...chats: ChatSummary[]) => run(initialState(me), { type: 'chats/loaded', chats });

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
      { type: 'chats/loaded', chats: [chat('c1')] },
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
