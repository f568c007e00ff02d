import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { createPasswordHasher, type PasswordHasher } from '../src/passwords/password-hasher';
import { COMMON_PASSWORDS_REFUSED, isCommonPassword } from '../src/passwords/common-passwords';

/** The longest a 5 ms timer fired late while `work` ran: how long the event loop was stalled. */
async function maxTimerLagMs(work: Promise<unknown>): Promise<number> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  let max = 0;
  while (!done) {
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    max = Math.max(max, performance.now() - start - 5);
  }
  await settled;
  return max;
}

describe('password hashing in the worker pool', () => {
  let hasher: PasswordHasher;
  beforeAll(() => {
    hasher = createPasswordHasher({ cost: 4, threads: 2 });
  });
  afterAll(() => hasher.close());

  it('produces bcrypt hashes at the configured cost that verify the password', async () => {
    const hash = await hasher.hash('Tr0ub4dor&3-kilo');
    expect(bcrypt.getRounds(hash)).toBe(4);
    await expect(hasher.compare('Tr0ub4dor&3-kilo', hash)).resolves.toBe(true);
    await expect(hasher.compare('Tr0ub4dor&3-kil0', hash)).resolves.toBe(false);
  });

  it('handles a 72-byte multibyte password without truncating it early', async () => {
    const password = 'é'.repeat(36); // 72 bytes in UTF-8
    const hash = await hasher.hash(password);
    await expect(hasher.compare(password, hash)).resolves.toBe(true);
    await expect(hasher.compare('é'.repeat(35) + 'e', hash)).resolves.toBe(false);
  });

  it.each([
    ['in the worker pool', 2, (lag: number) => expect(lag).toBeLessThan(40)],
    // The control: the same work on the main thread stalls the loop, which is what the pool prevents.
    ['on the main thread (control)', 0, (lag: number) => expect(lag).toBeGreaterThan(100)],
  ])('event loop stall while hashing 8 passwords at cost 10 %s', async (_where, threads, check) => {
    const heavy = createPasswordHasher({ cost: 10, threads });
    try {
      await heavy.hash('warm-up-the-workers');
      const lag = await maxTimerLagMs(
        Promise.all(Array.from({ length: 8 }, (_, i) => heavy.hash(`password-${i}`))),
      );
      check(lag);
    } finally {
      await heavy.close();
    }
  });

  it('answers 503 busy instead of queueing without bound', async () => {
    const tiny = createPasswordHasher({ cost: 8, threads: 1, maxQueue: 2 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => tiny.hash(`password-${i}`)),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]).toMatchObject({ reason: { status: 503, code: 'busy' } });
    } finally {
      await tiny.close();
    }
  });
});

describe('common password list', () => {
  it('refuses the most common passwords whatever their case', () => {
    expect(isCommonPassword('password')).toBe(true);
    expect(isCommonPassword('PassWord')).toBe(true);
    expect(isCommonPassword('iloveyou')).toBe(true);
    expect(isCommonPassword('password1')).toBe(true);
  });

  it('accepts passwords that are not on the list', () => {
    expect(isCommonPassword('Tr0ub4dor&3-kilo')).toBe(false);
    expect(isCommonPassword('correct horse battery staple')).toBe(false);
  });

  it('uses the top entries of the frequency-ranked list', () => {
    expect(COMMON_PASSWORDS_REFUSED).toBe(10_000);
  });
});
