import type { Redis } from 'ioredis';

/**
 * Revoked token ids (`jti`) and session ids (`sid`), each kept until the tokens it covers would expire anyway.
 * Auth writes it on logout and refresh-reuse; the gateway, realtime and chat-api consult it.
 */
export interface TokenDenylist {
  revoke(id: string, expiresAtEpochSeconds: number): Promise<void>;
  isRevoked(...ids: string[]): Promise<boolean>;
}

export function createMemoryDenylist(now: () => number = Date.now): TokenDenylist {
  const entries = new Map<string, number>();
  return {
    async revoke(id, expiresAt) {
      entries.set(id, expiresAt * 1000);
      if (entries.size % 1000 === 0) {
        const t = now();
        for (const [key, until] of entries) if (until <= t) entries.delete(key);
      }
    },
    async isRevoked(...ids) {
      const t = now();
      return ids.some((id) => {
        const until = entries.get(id);
        return until !== undefined && until > t;
      });
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
  };
}
