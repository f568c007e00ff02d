import type { Message } from '@cohort/common';
import { createRecentMessages, type RecentMessages } from '../src/sync/recent-messages';

// The rules of what a replica may answer a catch-up with (sync/recent-messages.ts), event by event. The same store
// under a real stack (chat-api, Redis, Socket.IO clients) is exercised in catch-up.test.ts.

const CHAT = 'c'.repeat(24);

function message(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    chatId: CHAT,
    seq,
    senderId: 'u1',
    text: `text ${seq}`,
    clientMsgId: `k${seq}`,
    createdAt: new Date(1_700_000_000_000 + seq).toISOString(),
    version: 1,
    ...over,
  };
}
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => message(from + i));
const seqs = (messages: readonly Message[] | undefined) => messages?.map((m) => m.seq);

function seeded(recent: RecentMessages, afterSeq: number, limit: number, messages: Message[]): void {
  const mark = recent.mark(CHAT);
  recent.seed(mark, afterSeq, limit, messages);
  recent.release(mark);
}

describe('recent messages', () => {
  let receiving: boolean;
  let generation: number;
  let recent: RecentMessages;
  beforeEach(() => {
    receiving = true;
    generation = 0;
    recent = createRecentMessages({
      maxBytes: 1024 * 1024,
      ttlMs: 60_000,
      feed: { receiving: () => receiving, generation: () => generation },
    });
  });

  it('answers from a page chat-api gave that was not full: any later catch-up, and nothing new past its end', () => {
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
    seeded(recent, 0, 100, range(1, 3));
    expect(seqs(recent.page(CHAT, 0, 100))).toEqual([1, 2, 3]);
    expect(seqs(recent.page(CHAT, 1, 1))).toEqual([2]);
    expect(seqs(recent.page(CHAT, 3, 100))).toEqual([]);
    expect(seqs(recent.page(CHAT, 7, 100))).toEqual([]);
    // Before what it holds: chat-api.
    seeded(recent, 1, 100, range(2, 3));
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
  });

  it('answers from a full page only within it: what follows it is unknown', () => {
    seeded(recent, 0, 2, range(1, 2));
    expect(seqs(recent.page(CHAT, 0, 2))).toEqual([1, 2]);
    expect(seqs(recent.page(CHAT, 1, 1))).toEqual([2]);
    expect(recent.page(CHAT, 0, 3)).toBeUndefined();
    expect(recent.page(CHAT, 2, 100)).toBeUndefined();
  });

  it('is extended by the next chat:new, and dropped when the bus skips a seq', () => {
    seeded(recent, 0, 100, range(1, 2));
    recent.apply({ type: 'chat:new', chatId: CHAT, message: message(3) });
    expect(seqs(recent.page(CHAT, 0, 100))).toEqual([1, 2, 3]);
    // Again (a publisher that retried): nothing changes.
    recent.apply({ type: 'chat:new', chatId: CHAT, message: message(3) });
    expect(seqs(recent.page(CHAT, 0, 100))).toEqual([1, 2, 3]);
    recent.apply({ type: 'chat:new', chatId: CHAT, message: message(5) });
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
    // Seq 4 then arriving starts nothing: only chat-api starts an entry.
    recent.apply({ type: 'chat:new', chatId: CHAT, message: message(4) });
    expect(recent.page(CHAT, 3, 100)).toBeUndefined();
  });

  it('keeps the latest version of each message and the latest reactions, whatever order they arrive in', () => {
    seeded(recent, 0, 100, range(1, 2));
    const edited = message(2, { text: 'edited', editedAt: new Date().toISOString(), version: 3 });
    recent.apply({ type: 'chat:updated', chatId: CHAT, message: edited });
    // An older edit arriving late does not undo it.
    recent.apply({ type: 'chat:updated', chatId: CHAT, message: message(2, { text: 'older', version: 2 }) });
    const reactions = [{ emoji: '👍', count: 2, userIds: ['u1', 'u2'] }];
    recent.apply({ type: 'chat:reactions', chatId: CHAT, messageId: 'm2', reactions, reactionsVersion: 2 });
    recent.apply({
      type: 'chat:reactions',
      chatId: CHAT,
      messageId: 'm2',
      reactions: [{ emoji: '👍', count: 1, userIds: ['u1'] }],
      reactionsVersion: 1,
    });
    expect(recent.page(CHAT, 1, 100)).toEqual([{ ...edited, reactions, reactionsVersion: 2 }]);
    // A later delete carrying no reactions keeps the later summary.
    const deleted = message(2, { text: '', deletedAt: new Date().toISOString(), version: 4 });
    recent.apply({ type: 'chat:deleted', chatId: CHAT, message: deleted });
    expect(recent.page(CHAT, 1, 100)).toEqual([{ ...deleted, reactions, reactionsVersion: 2 }]);
    // Every reaction taken back: the summary is absent, as chat-api answers it.
    recent.apply({
      type: 'chat:reactions',
      chatId: CHAT,
      messageId: 'm2',
      reactions: [],
      reactionsVersion: 3,
    });
    expect(recent.page(CHAT, 1, 100)).toEqual([{ ...deleted, reactionsVersion: 3 }]);
  });

  it('drops a complete entry on a write to a message it never got, or a message not shaped as chat-api answers', () => {
    seeded(recent, 0, 100, range(1, 2));
    recent.apply({ type: 'chat:updated', chatId: CHAT, message: message(3, { version: 2 }) });
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();

    seeded(recent, 0, 100, range(1, 2));
    const { version: _version, ...unversioned } = message(3);
    recent.apply({ type: 'chat:new', chatId: CHAT, message: unversioned as Message });
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();

    seeded(recent, 0, 100, range(1, 2));
    recent.apply({
      type: 'chat:new',
      chatId: CHAT,
      message: { ...message(3), text: undefined } as unknown as Message,
    });
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();

    seeded(recent, 0, 100, range(1, 2));
    recent.apply({ type: 'chat:new', chatId: CHAT, message: message(2, { id: 'another' }) });
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
  });

  it('does not keep a page when an event of its chat arrived while it was asked for, nor a page with a gap', () => {
    const mark = recent.mark(CHAT);
    recent.apply({ type: 'chat:new', chatId: CHAT, message: message(3) });
    recent.seed(mark, 0, 100, range(1, 2));
    recent.release(mark);
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
    // Once no page is being asked for, the next one is kept.
    seeded(recent, 0, 100, range(1, 3));
    expect(seqs(recent.page(CHAT, 0, 100))).toEqual([1, 2, 3]);

    const other = createRecentMessages({ maxBytes: 1 << 20, ttlMs: 60_000 });
    seeded(other, 0, 100, [message(1), message(3)]);
    expect(other.page(CHAT, 0, 100)).toBeUndefined();
    seeded(other, 0, 100, [message(2)]);
    expect(other.page(CHAT, 0, 100)).toBeUndefined();
  });

  it('lets a second asker wait for the page on its way, and settles when the last asker is done', async () => {
    expect(recent.asking(CHAT)).toBeUndefined();
    const first = recent.mark(CHAT);
    const second = recent.mark(CHAT);
    const asked = recent.asking(CHAT);
    let settled = false;
    void asked?.then(() => (settled = true));
    recent.seed(first, 0, 100, range(1, 2));
    recent.release(first);
    await Promise.resolve();
    expect(settled).toBe(false);
    recent.release(second);
    await asked;
    expect(settled).toBe(true);
    expect(recent.asking(CHAT)).toBeUndefined();
    expect(seqs(recent.page(CHAT, 0, 100))).toEqual([1, 2]);
  });

  it('trusts nothing while the bus is not receiving, nor anything from before its subscriber reconnected', () => {
    seeded(recent, 0, 100, range(1, 2));
    receiving = false;
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
    seeded(recent, 0, 100, range(1, 3));
    receiving = true;
    expect(seqs(recent.page(CHAT, 0, 100))).toEqual([1, 2]);
    generation += 1;
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
    // A page asked for before the reconnect and answered after it is not kept either.
    const mark = recent.mark(CHAT);
    generation += 1;
    recent.seed(mark, 0, 100, range(1, 3));
    recent.release(mark);
    expect(recent.page(CHAT, 0, 100)).toBeUndefined();
  });

  it('forgets an entry after ttlMs, keeps at most maxPerChat messages, and within maxBytes', async () => {
    const short = createRecentMessages({ maxBytes: 1 << 20, ttlMs: 50 });
    seeded(short, 0, 100, range(1, 2));
    expect(seqs(short.page(CHAT, 0, 100))).toEqual([1, 2]);
    // Writes do not make it younger.
    await new Promise((resolve) => setTimeout(resolve, 30));
    short.apply({ type: 'chat:new', chatId: CHAT, message: message(3) });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(short.page(CHAT, 0, 100)).toBeUndefined();

    const small = createRecentMessages({ maxBytes: 1 << 20, ttlMs: 60_000, maxPerChat: 3 });
    seeded(small, 0, 100, range(1, 3));
    small.apply({ type: 'chat:new', chatId: CHAT, message: message(4) });
    expect(small.page(CHAT, 0, 100)).toBeUndefined();
    expect(seqs(small.page(CHAT, 1, 100))).toEqual([2, 3, 4]);

    // Two chats of about 1.6 KB each in 2.5 KB: the one used least recently goes.
    const tight = createRecentMessages({ maxBytes: 2500, ttlMs: 60_000 });
    const other = 'd'.repeat(24);
    seeded(tight, 0, 100, range(1, 4));
    const mark = tight.mark(other);
    tight.seed(
      mark,
      0,
      100,
      range(1, 4).map((m) => ({ ...m, chatId: other })),
    );
    tight.release(mark);
    expect(tight.page(CHAT, 0, 100)).toBeUndefined();
    expect(seqs(tight.page(other, 0, 100))).toEqual([1, 2, 3, 4]);
    // One chat larger than the bound is not kept at all.
    const huge = createRecentMessages({ maxBytes: 1000, ttlMs: 60_000 });
    seeded(huge, 0, 100, range(1, 4));
    expect(huge.page(CHAT, 0, 100)).toBeUndefined();
  });

  it('keeps nothing when turned off', () => {
    for (const off of [
      createRecentMessages({ maxBytes: 0, ttlMs: 60_000 }),
      createRecentMessages({ maxBytes: 1 << 20, ttlMs: 0 }),
    ]) {
      seeded(off, 0, 100, range(1, 2));
      expect(off.page(CHAT, 0, 100)).toBeUndefined();
      expect(off.asking(CHAT)).toBeUndefined();
    }
  });
});
