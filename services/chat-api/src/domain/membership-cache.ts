import { LRUCache } from 'lru-cache';

/**
 * Memberships the send path confirmed (member, and not blocked from a direct chat), so a sender's next messages do
 * not each re-read the same two rows. Only the send path consults it, and only for "may send here" (never a role).
 *
 * An entry stays until something says otherwise, bounded by `ttlMs`:
 * - a removal or block through this process forgets it at once (remove-member.ts, block-user.ts);
 * - one through another chat-api replica arrives on the bus (`chat:removed`, `users:block`) and forgets it
 *   (events/membership-invalidation.ts);
 * - while the bus is not receiving, nothing is trusted; when its subscriber reconnected (the generation changed),
 *   everything remembered before is dropped, since an event may have been missed meanwhile;
 * - a confirmation whose reads started before a forget (or a bus gap) is not remembered: the removal it raced
 *   may be the one the reads did not see.
 * `ttlMs` bounds the one case left: an event its publisher failed to hand to Redis (logged there).
 */
export interface MembershipCache {
  has(chatId: string, userId: string): boolean;
  /** Taken before the store reads that confirm a membership; `remember` needs it. */
  mark(): CacheMark;
  remember(chatId: string, userId: string, mark: CacheMark): void;
  forget(chatId: string, userId: string): void;
}

export interface CacheMark {
  readonly forgets: number;
  readonly generation: number;
}

/** What the cache needs to know about the bus that carries other replicas' removals (the runtime's). */
export interface InvalidationFeed {
  /** Whether the bus can receive now. */
  receiving(): boolean;
  /** Changes whenever the bus may have missed a message. */
  generation(): number;
}

export interface MembershipCacheOptions {
  /** Longest an entry is trusted; 0 turns the cache off. */
  ttlMs: number;
  max?: number;
  /** Without one (no Redis: one process), only this process's forgets apply. */
  feed?: InvalidationFeed;
}

const ALWAYS_RECEIVING: InvalidationFeed = { receiving: () => true, generation: () => 0 };

export function createMembershipCache({
  ttlMs,
  max = 50_000,
  feed = ALWAYS_RECEIVING,
}: MembershipCacheOptions): MembershipCache {
  if (ttlMs <= 0) {
    return {
      has: () => false,
      mark: () => ({ forgets: 0, generation: 0 }),
      remember: () => undefined,
      forget: () => undefined,
    };
  }
  const confirmed = new LRUCache<string, number>({ max, ttl: ttlMs, ttlAutopurge: false });
  const key = (chatId: string, userId: string) => `${chatId}:${userId}`;
  let forgets = 0;
  return {
    has(chatId, userId) {
      if (!feed.receiving()) return false;
      const generation = confirmed.get(key(chatId, userId));
      return generation !== undefined && generation === feed.generation();
    },
    mark: () => ({ forgets, generation: feed.generation() }),
    remember(chatId, userId, mark) {
      const generation = feed.generation();
      if (mark.forgets !== forgets || mark.generation !== generation || !feed.receiving()) return;
      confirmed.set(key(chatId, userId), generation);
    },
    forget(chatId, userId) {
      forgets += 1;
      confirmed.delete(key(chatId, userId));
    },
  };
}
