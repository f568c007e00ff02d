import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { RateLimit } from '../config';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { pipelineReplies, redisHealth, type RedisHealth } from '../redis';
import { redisRoundTrips, type RedisRoundTrips } from '../redis-round-trips';

type RateLimiterRedisOptions = ConstructorParameters<typeof RateLimiterRedis>[0];

/** rate-limiter-flexible's write of a consume or a reward, which its type declarations leave out. */
const libraryUpsert: unknown = Reflect.get(RateLimiterRedis.prototype, '_upsert');
/** The script RateLimiterRedis defines on its client (`defineCommand`), so also on that client's pipelines. */
const INCR_SCRIPT = 'rlflxIncr';

/**
 * RateLimiterRedis that also counts a connected but unresponsive Redis (frozen, partitioned: its heartbeat is
 * unanswered) as not ready, so consumes go to the in-memory insurance limiter at once instead of each waiting
 * out a command timeout; and whose consumes leave with the other commands queued in the same turn of the event
 * loop (`redisRoundTrips`) instead of a socket write each: a reconnect storm's `chat:sync` events, each taken from
 * its user's event budget, were one write apiece.
 */
class HeartbeatRateLimiterRedis extends RateLimiterRedis {
  private readonly roundTrips: RedisRoundTrips;
  /** `libraryUpsert`, checked once here. */
  private readonly libraryWrite: Parameters<typeof Reflect.apply>[0];

  constructor(
    options: RateLimiterRedisOptions & { storeClient: Redis },
    private readonly health: RedisHealth,
  ) {
    super(options);
    // Private to the library (its version is pinned by the lock file): a version without them stops the service at
    // start instead of falling back, silently, to each process's own budget.
    if (
      typeof libraryUpsert !== 'function' ||
      typeof Reflect.get(options.storeClient, INCR_SCRIPT) !== 'function'
    )
      throw new Error(`rate-limiter-flexible changed: no _upsert or no ${INCR_SCRIPT} script`);
    this.libraryWrite = libraryUpsert;
    this.roundTrips = redisRoundTrips(options.storeClient);
  }

  /** rate-limiter-flexible's readiness hook (called before every Redis command when rejectIfRedisNotReady). */
  _isRedisReady(): boolean {
    return this.health.usable();
  }

  /**
   * rate-limiter-flexible's write of a consume or a reward: its own script with the arguments it gives it, queued
   * in this turn's round trip. What else it writes this way (a `block`, a window under a second) goes as before.
   */
  async _upsert(key: string, points: number, msDuration: number, forceExpire = false): Promise<unknown> {
    const seconds = Math.floor(msDuration / 1000);
    if (forceExpire || seconds <= 0 || !Number.isInteger(points))
      return Reflect.apply(this.libraryWrite, this, [key, points, msDuration, forceExpire]);
    if (!this._isRedisReady()) throw new Error('Redis connection is not ready');
    const args = [key, String(points), String(seconds), String(this.points), String(this.duration)];
    const results = await this.roundTrips.send((pipeline) => {
      const script: unknown = Reflect.get(pipeline, INCR_SCRIPT);
      if (typeof script !== 'function') throw new Error(`rate-limiter-flexible changed: no ${INCR_SCRIPT}`);
      Reflect.apply(script, pipeline, args);
    });
    const [reply] = pipelineReplies(results);
    return reply;
  }
}

export interface SharedLimiterOptions {
  /** Redis key prefix (`cohort:<name>`) and log name, e.g. `chat-send`. */
  name: string;
  /** A Redis key prefix other than `cohort:<name>` (limiters that predate this helper keep their keys). */
  keyPrefix?: string;
  limit: RateLimit;
  /** Shared by replicas when given; in-process otherwise (embedded mode). */
  redis?: Redis | undefined;
  /**
   * Once a key is over its budget, refuse it in this process without asking Redis until the window ends: a flood
   * then costs Redis one command per process and window, not one per attempt.
   */
  blockWhenSpent?: boolean;
}

/**
 * A rate-limiter-flexible limiter shared by replicas through Redis, in-process without it. While Redis is away
 * (not connected, or connected but not answering its heartbeat) the budget is kept per process rather than
 * refusing everyone or waiting: limits are abuse control, and no product path may depend on Redis being up.
 * A consume in flight when Redis stops answering waits at most the connection's command timeout, then is
 * counted per process too.
 */
export function createSharedLimiter({
  name,
  keyPrefix = `cohort:${name}`,
  limit,
  redis,
  blockWhenSpent,
}: SharedLimiterOptions): RateLimiterAbstract {
  const base = { keyPrefix, points: limit.points, duration: limit.durationSeconds };
  if (!redis) return new RateLimiterMemory(base);
  return new HeartbeatRateLimiterRedis(
    {
      ...base,
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(base),
      ...(blockWhenSpent ? { inMemoryBlockOnConsumed: limit.points } : {}),
    },
    redisHealth(redis),
  );
}

/** A per-key budget whose refusal is the HTTP contract's 429 `rate_limited` with Retry-After. */
export interface BudgetLimiter {
  /** Takes `points` from `key`'s budget or throws 429 with Retry-After (nothing taken then). */
  consume(key: string, points?: number): Promise<void>;
  /** Gives back what a consume took for an action that then did not happen (a retry of a stored send, say). */
  refund(key: string, points?: number): Promise<void>;
}

export interface BudgetLimiterOptions extends SharedLimiterOptions {
  /** The 429's message, e.g. "Too many chats created: try again later". */
  message: string;
  logger: Logger;
}

/** A shared budget per key (per user, usually) for one kind of action. A limiter failure lets the action through. */
export function createBudgetLimiter({ message, logger, ...options }: BudgetLimiterOptions): BudgetLimiter {
  const limiter = createSharedLimiter(options);
  const giveBack = (key: string, points: number) =>
    limiter.reward(key, points).then(
      () => undefined,
      (err: unknown) => logger.warn({ err, limiter: options.name }, 'could not give back points'),
    );
  return {
    async consume(key, points = 1) {
      if (points <= 0) return;
      try {
        await limiter.consume(key, points);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          // A refused consume still counted its points in the window: give them back, so a refusal costs
          // nothing and someone just over the limit is not kept out longer by retrying.
          await giveBack(key, points);
          throw AppError.tooManyRequests(rejection.msBeforeNext / 1000, message);
        }
        logger.error(
          { err: rejection, limiter: options.name },
          'rate limiter failed; letting the action through',
        );
      }
    },
    async refund(key, points = 1) {
      if (points > 0) await giveBack(key, points);
    },
  };
}
