/** One key's bucket: the tokens left and when they were counted. */
interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Token buckets of one size and rate, one per key (a socket: it lives on one replica, so in memory): `burst` events
 * at once, refilled at `perSecond`. A key's bucket is made full on its first event and dropped with the key, so an
 * idle socket costs nothing.
 */
export class TokenBuckets {
  private readonly buckets = new WeakMap<object, Bucket>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: object): boolean {
    const t = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, last: t };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.last) / 1000) * this.perSecond);
    bucket.last = t;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
