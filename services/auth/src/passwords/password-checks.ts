import { randomBytes } from 'node:crypto';
import type { Runtime } from '@cohort/common';
import type { AuthConfig } from '../config';
import { createFairQueue, type FairQueue } from './fair-queue';
import { createPasswordHasher, type PasswordHasher } from './password-hasher';

export interface PasswordChecks {
  passwords: PasswordHasher;
  /** Turns on the pool shared fairly between client addresses and accounts. */
  hashing: FairQueue;
  /** Compared against when the email is unknown, so that answer costs what a wrong password costs. */
  dummyHash: Promise<string>;
}

/** The password worker pool (closed by the runtime), its fair queue, and the dummy hash for unknown emails. */
export function openPasswordChecks(
  config: AuthConfig,
  runtime: Runtime,
  given?: PasswordHasher,
): PasswordChecks {
  const passwords =
    given ?? createPasswordHasher({ cost: config.BCRYPT_COST, threads: config.PASSWORD_HASH_THREADS });
  if (!given) runtime.onClose('password-workers', () => passwords.close());
  const dummyHash = passwords.hash(randomBytes(24).toString('base64url'));
  dummyHash.catch((err: unknown) =>
    runtime.logger.error({ err }, 'could not prepare the dummy password hash'),
  );
  const threads = Math.max(1, config.PASSWORD_HASH_THREADS);
  return {
    passwords,
    dummyHash,
    // One task per thread at a time: the pool's own queue would be first come, first served.
    hashing: createFairQueue({
      concurrency: threads,
      maxWaiting: threads * 16,
      perAddress: config.PASSWORD_CHECKS_PER_ADDRESS,
      perAccount: config.PASSWORD_CHECKS_PER_ACCOUNT,
    }),
  };
}
