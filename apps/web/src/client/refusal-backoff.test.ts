import { describe, expect, it } from 'vitest';
import { MAX_REFUSAL_BACKOFF_MS, refusalBackoffMs } from './refusal-backoff';

describe('refusalBackoffMs (waits between refused handshakes)', () => {
  it('retries the first ordinary refusal at once, then doubles from 1 s', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4].map((n) => refusalBackoffMs(n, 'unavailable', middle))).toEqual([
      0, 1000, 2000, 4000,
    ]);
  });

  it('never retries an overloaded replica at once', () => {
    expect(refusalBackoffMs(1, 'overloaded', () => 0)).toBe(500);
    expect(refusalBackoffMs(1, 'overloaded', () => 0.999)).toBeGreaterThanOrEqual(1499);
  });

  it('spreads clients over ±50 % of the step and caps the wait', () => {
    expect(refusalBackoffMs(3, 'unavailable', () => 0)).toBe(1000);
    expect(refusalBackoffMs(3, 'unavailable', () => 0.999)).toBe(2998);
    expect(refusalBackoffMs(20, 'unavailable', () => 0.999)).toBe(MAX_REFUSAL_BACKOFF_MS);
    const waits = new Set(Array.from({ length: 50 }, () => refusalBackoffMs(4, 'overloaded')));
    expect(waits.size).toBeGreaterThan(10);
  });
});
