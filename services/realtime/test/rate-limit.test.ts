import { TokenBuckets } from '../src/events/rate-limit';

describe('per-socket token buckets', () => {
  it('allows a burst, refuses beyond it, and refills at the configured rate', () => {
    let t = 0;
    const buckets = new TokenBuckets(5, 2, () => t);
    const socket = {};
    const burst = Array.from({ length: 7 }, () => buckets.take(socket));
    expect(burst).toEqual([true, true, true, true, true, false, false]);
    t += 500; // one token back at 2/s
    expect(buckets.take(socket)).toBe(true);
    expect(buckets.take(socket)).toBe(false);
    t += 60_000; // never more than the burst
    expect(Array.from({ length: 6 }, () => buckets.take(socket)).filter(Boolean)).toHaveLength(5);
  });

  it('gives each socket its own bucket, full on its first event', () => {
    let t = 0;
    const buckets = new TokenBuckets(2, 1, () => t);
    const [flooder, quiet] = [{}, {}];
    expect([buckets.take(flooder), buckets.take(flooder), buckets.take(flooder)]).toEqual([
      true,
      true,
      false,
    ]);
    t += 10_000;
    expect([buckets.take(quiet), buckets.take(quiet), buckets.take(quiet)]).toEqual([true, true, false]);
  });
});
