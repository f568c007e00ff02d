import { describe, expect, it } from 'vitest';
import type { Message } from '../contract';
import {
  addPending,
  applyChange,
  hasGap,
  makePending,
  mergeMessages,
  newestSeq,
  oldestSeq,
  setLocalStatus,
  type UiMessage,
} from './messages';

const chatId = 'c'.repeat(24);
const me = 'a'.repeat(24);
const ada = 'b'.repeat(24);

function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    chatId,
    seq,
    senderId: ada,
    text: `message ${seq}`,
    clientMsgId: `client-${seq}`,
    createdAt: new Date(Date.UTC(2025, 0, 1, 12, 0, seq)).toISOString(),
    version: 1,
    ...over,
  };
}

function pending(clientMsgId: string, text = 'hello'): UiMessage {
  return makePending({ chatId, senderId: me, text, clientMsgId, now: new Date() });
}

const seqs = (list: readonly UiMessage[]) => list.map((m) => m.seq);

describe('mergeMessages', () => {
  it('orders stored messages by seq whatever order they arrive in', () => {
    const list = mergeMessages([], [msg(3), msg(1), msg(2)]);
    expect(seqs(list)).toEqual([1, 2, 3]);
  });

  it('shows a message delivered twice (event and sync) only once', () => {
    const once = mergeMessages([], [msg(1), msg(2)]);
    const twice = mergeMessages(once, [msg(2), msg(3), msg(3)]);
    expect(seqs(twice)).toEqual([1, 2, 3]);
  });

  it('returns the same array when nothing new arrived, so React can skip the render', () => {
    const list = mergeMessages([], [msg(1), msg(2)]);
    expect(mergeMessages(list, [msg(2)])).toBe(list);
    expect(mergeMessages(list, [])).toBe(list);
  });

  it('replaces a pending message by its stored copy, matched on clientMsgId, keeping its key', () => {
    const local = pending('abc');
    const list = addPending(mergeMessages([], [msg(1)]), local);
    const stored = msg(2, { senderId: me, clientMsgId: 'abc', text: 'hello' });
    const merged = mergeMessages(list, [stored]);
    expect(merged).toHaveLength(2);
    expect(merged[1]).toMatchObject({ id: 'm2', seq: 2, status: 'sent', key: local.key });
  });

  it('does not mistake another sender’s message with the same clientMsgId for mine', () => {
    const list = addPending([], pending('same-id'));
    const merged = mergeMessages(list, [msg(1, { clientMsgId: 'same-id' })]);
    expect(merged.map((m) => m.status)).toEqual(['sent', 'pending']);
  });

  it('keeps pending and failed messages after the stored ones until they are stored', () => {
    let list = addPending(mergeMessages([], [msg(1)]), pending('p1'));
    list = mergeMessages(list, [msg(2)]);
    expect(list.map((m) => m.seq ?? m.clientMsgId)).toEqual([1, 2, 'p1']);
  });

  it('reconciles an ack that arrives after the chat:new of the same message', () => {
    const local = pending('xyz');
    const stored = msg(5, { senderId: me, clientMsgId: 'xyz' });
    const afterEvent = mergeMessages(addPending([], local), [stored]);
    const afterAck = mergeMessages(afterEvent, [stored]);
    expect(afterAck).toBe(afterEvent);
    expect(afterAck).toHaveLength(1);
  });

  it('never resurrects a deleted message from an older copy', () => {
    const deleted = msg(1, { text: '', deletedAt: '2025-01-01T13:00:00.000Z' });
    const list = mergeMessages([], [deleted]);
    const merged = mergeMessages(list, [msg(1)]);
    expect(merged[0]).toMatchObject({ text: '', deletedAt: deleted.deletedAt });
  });

  it('keeps the later edit when an older copy arrives late', () => {
    const edited = msg(1, { text: 'v2', editedAt: '2025-01-01T13:00:00.000Z' });
    const list = mergeMessages([], [edited]);
    expect(mergeMessages(list, [msg(1)])[0]?.text).toBe('v2');
  });
});

describe('applyChange', () => {
  it('applies an edit to a loaded message', () => {
    const list = mergeMessages([], [msg(1), msg(2)]);
    const next = applyChange(list, msg(2, { text: 'fixed', editedAt: '2025-01-02T00:00:00.000Z' }));
    expect(next[1]).toMatchObject({ text: 'fixed', editedAt: '2025-01-02T00:00:00.000Z' });
  });

  it('keeps the highest version, whatever order two edits of the same millisecond arrive in', () => {
    const at = '2025-01-02T00:00:00.000Z';
    const second = msg(1, { text: 'second', editedAt: at, version: 3 });
    const first = msg(1, { text: 'first', editedAt: at, version: 2 });
    const list = mergeMessages([], [msg(1)]);
    expect(applyChange(applyChange(list, first), second)[0]?.text).toBe('second');
    expect(applyChange(applyChange(list, second), first)[0]?.text).toBe('second');
  });

  it('ignores changes to messages outside the loaded window (history stays contiguous)', () => {
    const list = mergeMessages([], [msg(10), msg(11)]);
    expect(applyChange(list, msg(3, { deletedAt: '2025-01-02T00:00:00.000Z' }))).toBe(list);
  });
});

describe('local status', () => {
  it('marks a pending message failed with a reason, then pending again for a retry', () => {
    const failed = setLocalStatus(addPending([], pending('p')), 'p', 'failed', 'No reply');
    expect(failed[0]).toMatchObject({ status: 'failed', error: 'No reply' });
    const retrying = setLocalStatus(failed, 'p', 'pending');
    expect(retrying[0]?.status).toBe('pending');
    expect(retrying[0]?.error).toBeUndefined();
  });

  it('does not add the same pending message twice', () => {
    const list = addPending([], pending('p'));
    expect(addPending(list, pending('p'))).toBe(list);
  });
});

describe('cursors', () => {
  it('finds the newest and oldest stored seq, ignoring pending messages', () => {
    const list = addPending(mergeMessages([], [msg(4), msg(7)]), pending('p'));
    expect(newestSeq(list)).toBe(7);
    expect(oldestSeq(list)).toBe(4);
    expect(newestSeq([])).toBe(0);
    expect(oldestSeq([])).toBeNull();
  });

  it('detects a gap between what we hold and what arrived', () => {
    const list = mergeMessages([], [msg(1), msg(2)]);
    expect(hasGap(list, [msg(3)])).toBe(false);
    expect(hasGap(list, [msg(5)])).toBe(true);
    expect(hasGap([], [msg(5)])).toBe(false);
  });
});
