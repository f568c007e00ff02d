import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { AppError, type Logger } from '@cohort/common';
import type { SendRateLimit } from '../config';

/** The per-user send limit (docs/http-api.md: at least 60 messages per 10 s, bursts included). */
export interface SendLimiter {
  /** Takes one send from `userId`'s budget or throws 429 `rate_limited` with Retry-After. */
  consume(userId: string): Promise<void>;
}

export interface SendLimiterOptions {
  limit: SendRateLimit;
  logger: Logger;
  /** Shared across replicas when given; in-process otherwise (embedded mode). */
  redis?: Redis;
}

export function createSendLimiter({ limit, logger, redis }: SendLimiterOptions): SendLimiter {
  const base = { keyPrefix: 'cohort:chat-send', points: limit.points, duration: limit.durationSeconds };
  // While Redis is away the limit is kept per replica rather than refusing every send: a send limit is
  // abuse control, and the message path must not depend on Redis being up.
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({
        ...base,
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(base),
      })
    : new RateLimiterMemory(base);
  return {
    async consume(userId) {
      try {
        await limiter.consume(userId);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          throw AppError.tooManyRequests(rejection.msBeforeNext / 1000, 'Too many messages: slow down');
        }
        logger.error({ err: rejection }, 'send limiter failed; letting the message through');
      }
    },
  };
}
