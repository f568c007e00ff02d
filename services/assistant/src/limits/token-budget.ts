import type { Redis } from 'ioredis';

/** Per-user daily tokens (prompt + completion), reset at midnight UTC (DESIGN §7). */
export interface TokenBudget {
  /** Tokens the user may still spend today (0 or less: over budget). */
  remaining(userId: string): Promise<number>;
  charge(userId: string, tokens: number): Promise<void>;
}

const day = (now: Date) => now.toISOString().slice(0, 10);
const nextMidnightSeconds = (now: Date) =>
  Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) / 1000);

/** Redis: one counter per user and day (INCRBY), expiring at the next midnight UTC; shared by every replica. */
export function createRedisTokenBudget(
  redis: Redis,
  dailyTokens: number,
  now = () => new Date(),
): TokenBudget {
  const key = (userId: string, at: Date) => `cohort:ai:tokens:${day(at)}:${userId}`;
  return {
    async remaining(userId) {
      const spent = Number((await redis.get(key(userId, now()))) ?? 0);
      return dailyTokens - spent;
    },
    async charge(userId, tokens) {
      if (tokens <= 0) return;
      const at = now();
      await redis
        .multi()
        .incrby(key(userId, at), Math.ceil(tokens))
        .expireat(key(userId, at), nextMidnightSeconds(at) + 60)
        .exec();
    },
  };
}

/** In-process (embedded): the same per-day counters in a map that forgets earlier days. */
export function createMemoryTokenBudget(dailyTokens: number, now = () => new Date()): TokenBudget {
  let today = day(now());
  let spent = new Map<string, number>();
  const roll = () => {
    const current = day(now());
    if (current !== today) {
      today = current;
      spent = new Map();
    }
  };
  return {
    async remaining(userId) {
      roll();
      return dailyTokens - (spent.get(userId) ?? 0);
    },
    async charge(userId, tokens) {
      roll();
      if (tokens > 0) spent.set(userId, (spent.get(userId) ?? 0) + Math.ceil(tokens));
    },
  };
}
