import { describe, expect, it } from 'vitest';
import { addDeltas, hasHole, newStream, resumeAfter } from './ai-streams';

const s0 = newStream('c', 's1', 'q1');

describe('assembling an assistant stream', () => {
  it('joins deltas in index order whatever order they arrive in', () => {
    let s = addDeltas(s0, [{ index: 2, delta: 'c' }]);
    expect(s.text).toBe('');
    expect(hasHole(s)).toBe(true);
    expect(resumeAfter(s)).toBe(-1);
    s = addDeltas(s, [{ index: 0, delta: 'a' }]);
    expect(s.text).toBe('a');
    expect(resumeAfter(s)).toBe(0);
    s = addDeltas(s, [{ index: 1, delta: 'b' }]);
    expect(s.text).toBe('abc');
    expect(hasHole(s)).toBe(false);
    expect(s.next).toBe(3);
  });

  it('shows each delta once, however often it arrives', () => {
    let s = addDeltas(s0, [
      { index: 0, delta: 'Hel' },
      { index: 0, delta: 'Hel' },
    ]);
    s = addDeltas(s, [{ index: 1, delta: 'lo' }]);
    const again = addDeltas(s, [
      { index: 0, delta: 'Hel' },
      { index: 1, delta: 'lo' },
    ]);
    expect(again).toBe(s);
    expect(s.text).toBe('Hello');
  });

  it('fills a hole from a resume answer that overlaps what is held', () => {
    let s = addDeltas(s0, [
      { index: 0, delta: 'one ' },
      { index: 3, delta: 'four' },
    ]);
    expect(resumeAfter(s)).toBe(0);
    // ai:resume {afterIndex: 0} → deltas 1…3, the last one already held.
    s = addDeltas(
      s,
      [
        { index: 1, delta: 'two ' },
        { index: 2, delta: 'three ' },
        { index: 3, delta: 'four' },
      ],
      true,
    );
    expect(s.text).toBe('one two three four');
    expect(s.ended).toBe(true);
    expect(hasHole(s)).toBe(false);
  });

  it('a stream first seen mid-way (after a reload) resumes from the start and shows the whole answer once', () => {
    let s = addDeltas(s0, [{ index: 5, delta: 'F' }]);
    expect(resumeAfter(s)).toBe(-1);
    s = addDeltas(
      s,
      ['A', 'B', 'C', 'D', 'E', 'F'].map((delta, index) => ({ index, delta })),
    );
    s = addDeltas(s, [{ index: 6, delta: 'G' }]);
    expect(s.text).toBe('ABCDEFG');
  });

  it('ignores malformed indexes', () => {
    expect(addDeltas(s0, [{ index: -1, delta: 'x' }])).toBe(s0);
    expect(addDeltas(s0, [{ index: 1.5, delta: 'x' }])).toBe(s0);
  });
});
