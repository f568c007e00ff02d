import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Piscina } from 'piscina';
import { AppError } from '@cohort/common';

/** bcrypt hashing and comparison, off the event loop unless asked otherwise. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface PasswordHasherOptions {
  cost: number;
  /** Worker threads; 0 hashes on the main thread (benchmark comparison only: it stalls every request). */
  threads: number;
  /** Tasks waiting for a thread before new ones are refused with 503 (default 16 per thread). */
  maxQueue?: number;
}

/** The worker is plain JavaScript next to this file, in src/ and in dist/ alike. */
export const BCRYPT_WORKER_FILE = join(__dirname, 'bcrypt.worker.js');

export function createPasswordHasher({ cost, threads, maxQueue }: PasswordHasherOptions): PasswordHasher {
  return threads === 0
    ? createMainThreadHasher(cost)
    : createPooledHasher(cost, threads, maxQueue ?? threads * 16);
}

function createPooledHasher(cost: number, threads: number, maxQueue: number): PasswordHasher {
  const pool = new Piscina({
    filename: BCRYPT_WORKER_FILE,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
  });
  const run = async <T>(task: object, name: 'hash' | 'compare'): Promise<T> => {
    if (pool.queueSize >= maxQueue) throw busy();
    return (await pool.run(task, { name })) as T;
  };
  return {
    hash: (password) => run<string>({ password, cost }, 'hash'),
    compare: (password, hash) => run<boolean>({ password, hash }, 'compare'),
    close: () => pool.destroy(),
  };
}

/** bcryptjs' async API on the main thread: what the pool is measured against. */
function createMainThreadHasher(cost: number): PasswordHasher {
  return {
    hash: (password) => bcrypt.hash(password, cost),
    compare: (password, hash) => bcrypt.compare(password, hash),
    close: async () => undefined,
  };
}

function busy(): AppError {
  return new AppError(503, 'busy', 'The service is busy, retry shortly', { 'Retry-After': '1' });
}
