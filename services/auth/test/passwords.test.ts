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

  async function lagWhileHashing(threads: number): Promise<number> {
    const hasher = createPasswordHasher({ cost: 10, threads });
    try {
      await hasher.hash('warm-up-the-workers');
      return await maxTimerLagMs(
        Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`password-${i}`))),
      );
    } finally {
      await hasher.close();
    }
  }

  it('keeps the event loop free while hashing, unlike hashing on the main thread', async () => {
    const pooled = await lagWhileHashing(2);
    const mainThread = await lagWhileHashing(0);
    // 8 hashes at cost 10 take ~70 ms each: on the main thread the loop stalls for all of them. Compared
    // within one test, so a busy machine (which delays timers in both runs) does not decide the outcome.
    expect(mainThread).toBeGreaterThan(200);
    expect(pooled).toBeLessThan(mainThread / 4);
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
