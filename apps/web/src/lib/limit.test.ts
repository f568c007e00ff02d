import { describe, expect, it } from 'vitest';
import { forEachLimited } from './limit';

describe('forEachLimited', () => {
  it('never runs more than the limit at once, and runs every item', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      done.push(n);
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps going after a task fails', async () => {
    const done: number[] = [];
    await forEachLimited([1, 2, 3], 1, async (n) => {
      if (n === 1) throw new Error('first fails');
      done.push(n);
    });
    expect(done).toEqual([2, 3]);
  });
});
