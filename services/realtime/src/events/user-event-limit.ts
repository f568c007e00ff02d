import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Logger } from '@cohort/common';
import type { RateLimit } from '../config';

/**
 * A user's budget of client events over all their sockets on every replica (DESIGN.md §9): a per-socket bucket
 * alone lets every extra socket multiply it.
 */
export interface UserEventLimit {
  /** Takes one event from `userId`'s budget; false when it is spent. Never rejects. */
  take(userId: string): Promise<boolean>;
}

export interface UserEventLimitOptions {
  limit: RateLimit;
  logger: Logger;
  /** Shared across replicas when given; in-process otherwise (embedded mode). */
  redis?: Redis;
}

export function createUserEventLimit({ limit, logger, redis }: UserEventLimitOptions): UserEventLimit {
  const base = { keyPrefix: 'cohort:realtime-events', points: limit.points, duration: limit.durationSeconds };
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({
        ...base,
        storeClient: redis,
        // Once a user is over the budget, this replica refuses their events without asking Redis until the window
        // ends: a flood costs Redis one command per replica and window, not one per event.
        inMemoryBlockOnConsumed: limit.points,
        rejectIfRedisNotReady: true,
        // While Redis is away the budget is kept per replica rather than refusing every event.
        insuranceLimiter: new RateLimiterMemory(base),
      })
    : new RateLimiterMemory(base);
  return {
    take(userId) {
      return limiter.consume(userId).then(
        () => true,
        (rejection: unknown) => {
          if (rejection instanceof RateLimiterRes) return false;
          logger.error({ err: rejection }, 'user event limit failed; letting the event through');
          return true;
        },
      );
    },
  };
}
