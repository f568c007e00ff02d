import { describe, expect, it } from 'vitest';
import type { ChatSummary, Message, ReactionSummary } from '../contract';
import { initialState, reducer, type Action, type ChatState } from './store';

const me = 'a'.repeat(24);
const ada = 'b'.repeat(24);
const bo = 'd'.repeat(24);
const c1 = 'c'.repeat(24);

function chat(over: Partial<ChatSummary> = {}): ChatSummary {
  return {
    id: c1,
    type: 'group',
    title: 'Club',
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

function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    chatId: c1,
    seq,
    senderId: ada,
    text: `m${seq}`,
    clientMsgId: `cm-${seq}`,
    createdAt: new Date(Date.UTC(2025, 0, 2, 0, 0, seq)).toISOString(),
    version: 1,
    ...over,
  };
}

const run = (state: ChatState, ...actions: Action[]): ChatState => actions.reduce(reducer, state);

/** A group with its first page of messages loaded. */
function opened(...messages: Message[]): ChatState {
  return run(
    initialState(me),
    { type: 'chats/loaded', chats: [chat()], nextCursor: null },
    { type: 'thread/loaded', chatId: c1, messages, mode: 'latest', limit: 50 },
  );
}

const thumbs = (count: number, userIds: string[]): ReactionSummary[] => [{ emoji: '👍', count, userIds }];
const reactions = (state: ChatState, id = 'm1') =>
  state.threads[c1]?.items.find((m) => m.id === id)?.reactions;

describe('reactions', () => {
  it('keeps the summary with the highest reactionsVersion, in whatever order they arrive', () => {
    const state = run(
      opened(msg(1)),
      {
        type: 'message/reactions',
        chatId: c1,
        messageId: 'm1',
        reactions: thumbs(2, [ada, bo]),
        reactionsVersion: 2,
      },
      {
        type: 'message/reactions',
        chatId: c1,
        messageId: 'm1',
        reactions: thumbs(1, [ada]),
        reactionsVersion: 1,
      },
    );
    expect(reactions(state)).toEqual(thumbs(2, [ada, bo]));
  });

  it('a later copy of the message (sync, history) does not bring back older reactions', () => {
    const state = run(
      opened(msg(1)),
      {
        type: 'message/reactions',
        chatId: c1,
        messageId: 'm1',
        reactions: thumbs(2, [ada, bo]),
        reactionsVersion: 3,
      },
      {
        type: 'messages/received',
        chatId: c1,
        messages: [msg(1, { reactions: thumbs(1, [ada]), reactionsVersion: 2 })],
        viewing: true,
      },
    );
    expect(reactions(state)).toEqual(thumbs(2, [ada, bo]));
  });

  it('takes newer reactions from a copy whose text version is the same', () => {
    const state = run(opened(msg(1)), {
      type: 'messages/received',
      chatId: c1,
      messages: [msg(1, { reactions: thumbs(1, [bo]), reactionsVersion: 1 })],
      viewing: true,
    });
    expect(reactions(state)).toEqual(thumbs(1, [bo]));
  });

  it('keeps the reactions through an edit, and the last one taken back empties them', () => {
    const state = run(
      opened(msg(1)),
      {
        type: 'message/reactions',
        chatId: c1,
        messageId: 'm1',
        reactions: thumbs(1, [bo]),
        reactionsVersion: 1,
      },
      {
        type: 'message/changed',
        message: msg(1, { text: 'edited', version: 2, editedAt: '2025-01-03T00:00:00.000Z' }),
      },
    );
    expect(reactions(state)).toEqual(thumbs(1, [bo]));
    const cleared = run(state, {
      type: 'message/reactions',
      chatId: c1,
      messageId: 'm1',
      reactions: [],
      reactionsVersion: 2,
    });
    expect(reactions(cleared)).toBeUndefined();
  });
});

describe('mentions and renames', () => {
  it('counts messages that mention me in a chat I am not viewing; opening it clears the count', () => {
    const state = run(opened(), {
      type: 'messages/received',
      chatId: c1,
      messages: [msg(1, { mentions: [me] }), msg(2), msg(3, { mentions: [bo] })],
      viewing: false,
    });
    expect(state.chats[c1]?.mentionsUnread).toBe(1);
    expect(state.chats[c1]?.unread).toBe(3);
    expect(run(state, { type: 'seen', chatId: c1 }).chats[c1]?.mentionsUnread).toBe(0);
  });

  it('a rename (chat:changed) updates the title and keeps the members held', () => {
    const members = [
      { userId: me, role: 'owner' as const, joinedAt: '2025-01-01T00:00:00.000Z', lastReadSeq: 0 },
    ];
    const state = run(
      initialState(me),
      { type: 'chats/loaded', chats: [chat({ members })], nextCursor: null },
      { type: 'chat/upsert', chat: { ...chat(), title: 'New name' } },
    );
    expect(state.chats[c1]?.title).toBe('New name');
    expect(state.chats[c1]?.members).toEqual(members);
  });
});

describe('assistant streams', () => {
  const delta = (index: number, text: string, streamId = 's1'): Action => ({
    type: 'ai/deltas',
    chatId: c1,
    streamId,
    replyTo: 'm1',
    deltas: [{ index, delta: text }],
  });

  it('shows the answer as it streams, then the stored answer replaces it and late deltas are ignored', () => {
    let state = run(opened(msg(1)), delta(0, 'Hel'), delta(2, '!'), delta(1, 'lo'), delta(1, 'lo'));
    expect(state.streams.s1?.text).toBe('Hello!');
    const answer = msg(2, {
      senderId: 'ai',
      text: 'Hello!',
      replyTo: 'm1',
      ai: { streamId: 's1', status: 'done', model: 'test' },
    });
    state = run(state, { type: 'messages/received', chatId: c1, messages: [answer], viewing: true });
    expect(state.streams.s1).toBeUndefined();
    expect(state.threads[c1]?.items.map((m) => m.text)).toEqual(['m1', 'Hello!']);
    expect(run(state, delta(3, 'late'))).toBe(state);
  });

  it('a stream whose answer came with history (after a reload) is never shown again', () => {
    const answer = msg(2, { ai: { streamId: 's9', status: 'stopped', model: 'test' } });
    const state = opened(msg(1), answer);
    expect(run(state, delta(0, 'x', 's9')).streams.s9).toBeUndefined();
  });

  it('refuses a delta that names another chat than the stream started in', () => {
    const state = run(opened(), delta(0, 'a'));
    const other = run(state, {
      type: 'ai/deltas',
      chatId: 'e'.repeat(24),
      streamId: 's1',
      replyTo: null,
      deltas: [{ index: 1, delta: 'b' }],
    });
    expect(other.streams.s1?.text).toBe('a');
  });
});
