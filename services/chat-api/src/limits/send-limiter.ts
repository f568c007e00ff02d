import type { Redis } from 'ioredis';
import { createBudgetLimiter, type BudgetLimiter, type Logger } from '@cohort/common';
import type { SendRateLimit } from '../config';

/** The per-user send limit (docs/http-api.md: at least 60 messages per 10 s, bursts included). */
export type SendLimiter = BudgetLimiter;

export interface SendLimiterOptions {
  limit: SendRateLimit;
  logger: Logger;
  /** Shared across replicas when given; in-process otherwise (embedded mode). */
  redis?: Redis;
}

/** A refused send costs nothing; a retry of a stored send is refunded (retries are free). */
export function createSendLimiter({ limit, logger, redis }: SendLimiterOptions): SendLimiter {
  return createBudgetLimiter({
    name: 'chat-send',
    limit,
    logger,
    redis,
    message: 'Too many messages: slow down',
  });
}
