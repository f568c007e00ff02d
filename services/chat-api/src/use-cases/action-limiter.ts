import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { AppError, type Logger } from '@cohort/common';
import type { RateLimit } from '../config';

/**
 * A per-user budget for one kind of action (docs/security.md: chat creation, member additions, message edits),
 * shared by replicas through Redis. The same shape as the send limit (limits/send-limiter.ts).
 */
export interface ActionLimiter {
  /** Takes `points` from `userId`'s budget or throws 429 `rate_limited` with Retry-After (nothing taken then). */
  consume(userId: string, points?: number): Promise<void>;
  /** Gives back what a consume took for an action that then did not happen. */
  refund(userId: string, points?: number): Promise<void>;
}

export interface ActionLimiterOptions {
  /** Redis key prefix and log name, e.g. `chat-create`. */
  name: string;
  limit: RateLimit;
  /** The 429's message, e.g. "Too many chats created: try again later". */
  message: string;
  logger: Logger;
  /** Shared across replicas when given; in-process otherwise (embedded mode). */
  redis?: Redis | undefined;
}

export function createActionLimiter({
  name,
  limit,
  message,
  logger,
  redis,
}: ActionLimiterOptions): ActionLimiter {
  const base = { keyPrefix: `cohort:${name}`, points: limit.points, duration: limit.durationSeconds };
  // While Redis is away the limit is kept per replica rather than refusing everyone: these are abuse
  // controls, and chat-api's routes must not depend on Redis being up.
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({
        ...base,
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(base),
      })
    : new RateLimiterMemory(base);
  return {
    async consume(userId, points = 1) {
      if (points <= 0) return;
      try {
        await limiter.consume(userId, points);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          // A refused consume still counted its points in the window: give them back, so a refusal costs
          // nothing and a user just over the limit is not kept out longer by retrying.
          await limiter.reward(userId, points).catch((err: unknown) => {
            logger.warn({ err, limiter: name }, 'could not give back refused points');
          });
          throw AppError.tooManyRequests(rejection.msBeforeNext / 1000, message);
        }
        logger.error({ err: rejection, limiter: name }, 'action limiter failed; letting the action through');
      }
    },
    async refund(userId, points = 1) {
      if (points <= 0) return;
      await limiter.reward(userId, points).catch((err: unknown) => {
        logger.warn({ err, limiter: name }, 'could not give back points');
      });
    },
  };
}

/** Points to take from one limiter. */
export interface Charge {
  limiter: ActionLimiter;
  points: number;
}

/**
 * Takes every charge first (a refusal is a 429 before anything is checked or written), then runs `check`; when a
 * charge or `check` fails, what was taken is given back, so a refused or invalid request costs no budget. `write`
 * runs last and is what the budget pays for.
 */
export async function withBudget<T>(
  charges: readonly Charge[],
  userId: string,
  check: () => Promise<void>,
  write: () => Promise<T>,
): Promise<T> {
  const taken: Charge[] = [];
  try {
    for (const charge of charges) {
      await charge.limiter.consume(userId, charge.points);
      taken.push(charge);
    }
    await check();
  } catch (err) {
    await Promise.all(taken.map((charge) => charge.limiter.refund(userId, charge.points)));
    throw err;
  }
  return write();
}
