import type { Redis } from 'ioredis';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError, createSharedLimiter } from '@cohort/common';

export const LIMIT_WINDOW_SECONDS = 15 * 60;
export const FAILED_LOGINS_PER_ACCOUNT_AND_IP = 5;
/**
 * Failed logins at one account from all addresses together: what a guesser with many addresses gets. Higher than
 * the per-address count, since reaching it locks the owner out too until the window passes.
 */
export const FAILED_LOGINS_PER_ACCOUNT = 50;

/** Abuse limits on register and login, shared across replicas when Redis is given. */
export interface LoginLimiter {
  /** Counts one register/login request against the client IP's ceiling; 429 past it. */
  consumeIp(ip: string): Promise<void>;
  /**
   * Reserves one login attempt for this account from this IP, and one for the account from anywhere (which
   * does not depend on the address: a client with many addresses gets no more guesses), before the password
   * is checked, so a burst of parallel guesses cannot exceed the limits; 429 when none is left. A successful
   * login calls `reset`.
   */
  reserveAttempt(email: string, ip: string): Promise<void>;
  reset(email: string, ip: string): Promise<void>;
}

export interface LoginLimiterOptions {
  /** Unset: counters live in this process (embedded mode). */
  redis?: Redis;
  ipLimit: number;
  failedLoginLimit?: number;
  /** Failed logins per account from all addresses (default FAILED_LOGINS_PER_ACCOUNT). */
  failedAccountLimit?: number;
  windowSeconds?: number;
  keyPrefix?: string;
}

function limiter(
  options: LoginLimiterOptions,
  name: string,
  points: number,
  duration: number,
): RateLimiterAbstract {
  // Shared through Redis; while Redis is away or frozen (its heartbeat unanswered) the process-local counters
  // keep limiting (per replica) at once, instead of each login waiting out a command timeout per counter.
  return createSharedLimiter({
    name: `auth-${name}`,
    keyPrefix: `${options.keyPrefix ?? 'cohort:auth'}:${name}`,
    limit: { points, durationSeconds: duration },
    redis: options.redis,
  });
}

function tooMany(res: RateLimiterRes, message: string): AppError {
  return AppError.tooManyRequests(res.msBeforeNext / 1000, message, 'rate_limited');
}

async function consume(rateLimiter: RateLimiterAbstract, key: string, message: string): Promise<void> {
  try {
    await rateLimiter.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) throw tooMany(err, message);
    throw err;
  }
}

export function createLoginLimiter(options: LoginLimiterOptions): LoginLimiter {
  const windowSeconds = options.windowSeconds ?? LIMIT_WINDOW_SECONDS;
  const perIp = limiter(options, 'ip', options.ipLimit, windowSeconds);
  const perAccountAndIp = limiter(
    options,
    'login',
    options.failedLoginLimit ?? FAILED_LOGINS_PER_ACCOUNT_AND_IP,
    windowSeconds,
  );
  const perAccount = limiter(
    options,
    'account',
    options.failedAccountLimit ?? FAILED_LOGINS_PER_ACCOUNT,
    windowSeconds,
  );
  // Keyed together with the IP: an attacker elsewhere exhausts only their own counter of 5, while the
  // per-account counter bounds them all together.
  const accountKey = (email: string, ip: string) => `${email}|${ip}`;
  const message = 'Too many failed logins, retry later';

  return {
    consumeIp: (ip) => consume(perIp, ip, 'Too many requests from this address, retry later'),
    async reserveAttempt(email, ip) {
      await consume(perAccountAndIp, accountKey(email, ip), message);
      try {
        await consume(perAccount, email, message);
      } catch (err) {
        // Refused before any password check: it is not a guess from this address.
        await perAccountAndIp.reward(accountKey(email, ip));
        throw err;
      }
    },
    async reset(email, ip) {
      // The right password: this attempt was no failure, and the owner's earlier typos here are forgiven.
      await Promise.all([perAccountAndIp.delete(accountKey(email, ip)), perAccount.reward(email)]);
    },
  };
}
