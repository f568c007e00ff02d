import { describe, expect, it } from 'vitest';
import { completeMention, mentionQueryAt, mentionsInText, splitMentions } from './mentions';
import { ASSISTANT_HANDLE as SERVER_HANDLE } from '../../../../libs/common/src/assistant/identity';
import { ASSISTANT_HANDLE } from './mentions';

const members = [
  { id: 'u1', label: 'Ada Lovelace' },
  { id: 'u2', label: 'Alan Turing' },
  { id: 'u3', label: 'Grace Hopper' },
  { id: 'ai', label: 'cohortgpt' },
];

describe('mention completion', () => {
  it('finds the @query before the caret', () => {
    expect(mentionQueryAt('hello @Ad', 9)).toEqual({ start: 6, query: 'Ad' });
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQueryAt('mail ada@example', 16)).toBeNull();
    expect(mentionQueryAt('no at here', 10)).toBeNull();
    expect(mentionQueryAt('@a\nb', 4)).toBeNull();
  });

  it('offers members by any word of their name, prefix matches first', () => {
    expect(completeMention('a', members).map((c) => c.id)).toEqual(['u1', 'u2']);
    expect(completeMention('hop', members).map((c) => c.id)).toEqual(['u3']);
    expect(completeMention('coh', members).map((c) => c.id)).toEqual(['ai']);
    expect(completeMention('', members, 2)).toHaveLength(2);
    expect(completeMention('zz', members)).toEqual([]);
  });

  it('sends only the picked mentions still in the text, once each', () => {
    const picked = [members[0]!, members[1]!, members[0]!];
    expect(mentionsInText('hi @Ada Lovelace, @ada lovelace', picked)).toEqual(['u1']);
    expect(mentionsInText('nobody here', picked)).toEqual([]);
  });

  it('splits text around mentions and keeps the rest', () => {
    expect(splitMentions('@Ada Lovelace: hi', [{ label: 'Ada Lovelace', self: false }])).toEqual([
      { kind: 'mention', text: '@Ada Lovelace', self: false },
      { kind: 'text', text: ': hi' },
    ]);
  });

  it('uses the same handle as the server', () => {
    expect(ASSISTANT_HANDLE).toBe(SERVER_HANDLE);
  });
});
