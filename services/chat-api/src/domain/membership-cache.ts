import { LRUCache } from 'lru-cache';

/**
 * Memberships confirmed moments ago, so a busy sender's messages do not each re-read the same row. Only the
 * send path consults it, and only for "is a member" (never a role). A removal through this process forgets
 * the entry at once; one through another chat-api process is seen here within `ttlMs`, the same window a
 * send already in flight during the removal has anyway.
 */
export interface MembershipCache {
  has(chatId: string, userId: string): boolean;
  remember(chatId: string, userId: string): void;
  forget(chatId: string, userId: string): void;
}

export interface MembershipCacheOptions {
  /** How long a confirmed membership is trusted; 0 turns the cache off. */
  ttlMs: number;
  max?: number;
}

export function createMembershipCache({ ttlMs, max = 50_000 }: MembershipCacheOptions): MembershipCache {
  if (ttlMs <= 0) return { has: () => false, remember: () => undefined, forget: () => undefined };
  const confirmed = new LRUCache<string, true>({ max, ttl: ttlMs, ttlAutopurge: false });
  const key = (chatId: string, userId: string) => `${chatId}:${userId}`;
  return {
    has: (chatId, userId) => confirmed.get(key(chatId, userId)) === true,
    remember: (chatId, userId) => void confirmed.set(key(chatId, userId), true),
    forget: (chatId, userId) => void confirmed.delete(key(chatId, userId)),
  };
}
