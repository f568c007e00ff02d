import { TokenBucket } from '../src/rate-limit';

describe('per-socket token bucket', () => {
  it('allows a burst, refuses beyond it, and refills at the configured rate', () => {
    let t = 0;
    const bucket = new TokenBucket(5, 2, () => t);
    const burst = Array.from({ length: 7 }, () => bucket.take());
    expect(burst).toEqual([true, true, true, true, true, false, false]);
    t += 500; // one token back at 2/s
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    t += 60_000; // never more than the burst
    expect(Array.from({ length: 6 }, () => bucket.take()).filter(Boolean)).toHaveLength(5);
  });
});
