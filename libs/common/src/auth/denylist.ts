import type { Redis } from 'ioredis';

/**
 * Revoked token ids (`jti`) and session ids (`sid`), each kept until the tokens it covers would expire anyway.
 * Auth writes it on logout and refresh-reuse; the gateway, realtime and chat-api consult it.
 */
export interface TokenDenylist {
  revoke(id: string, expiresAtEpochSeconds: number): Promise<void>;
  isRevoked(...ids: string[]): Promise<boolean>;
  /** `isRevoked` for many groups of ids in one round trip: one answer per group, in order. */
  revokedAmong(groups: readonly (readonly string[])[]): Promise<boolean[]>;
}

export function createMemoryDenylist(now: () => number = Date.now): TokenDenylist {
  const entries = new Map<string, number>();
  const revoked = (ids: readonly string[]): boolean => {
    const t = now();
    return ids.some((id) => {
      const until = entries.get(id);
      return until !== undefined && until > t;
    });
  };
  return {
    async revoke(id, expiresAt) {
      entries.set(id, expiresAt * 1000);
      if (entries.size % 1000 === 0) {
        const t = now();
        for (const [key, until] of entries) if (until <= t) entries.delete(key);
      }
    },
    async isRevoked(...ids) {
      return revoked(ids);
    },
    async revokedAmong(groups) {
      return groups.map(revoked);
    },
  };
}

export function createRedisDenylist(redis: Redis, prefix = 'cohort:deny:'): TokenDenylist {
  return {
    async revoke(id, expiresAt) {
      const ttl = Math.ceil(expiresAt - Date.now() / 1000);
      if (ttl > 0) await redis.set(prefix + id, '1', 'EX', ttl);
    },
    async isRevoked(...ids) {
      if (ids.length === 0) return false;
      const found = await redis.exists(...ids.map((id) => prefix + id));
      return found > 0;
    },
    async revokedAmong(groups) {
      const asked = groups.filter((ids) => ids.length > 0);
      if (asked.length === 0) return groups.map(() => false);
      const pipeline = redis.pipeline();
      for (const ids of asked) pipeline.exists(...ids.map((id) => prefix + id));
      const results = (await pipeline.exec()) ?? [];
      let next = 0;
      return groups.map((ids) => {
        if (ids.length === 0) return false;
        const [err, found] = results[next++] ?? [new Error('no answer from Redis')];
        if (err) throw err;
        return Number(found) > 0;
      });
    },
  };
}
