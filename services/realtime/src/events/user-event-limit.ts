import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { createSharedLimiter, type Logger, type RateLimit } from '@cohort/common';

/**
 * A user's budget of client events over all their sockets on every replica (docs/security.md): a per-socket bucket
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
  const limiter = createSharedLimiter({ name: 'realtime-events', limit, redis, blockWhenSpent: true });
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
