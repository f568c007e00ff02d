/** A process's own copy of denied ids, each until its expiry (epoch milliseconds). */
export interface LocalDenylistCopy {
  /** Records `id` until `untilMs` (the later of this and what is recorded already wins). */
  set(id: string, untilMs: number): void;
  /** `set` for an id whose expiry is a guess: an expiry already known is kept. */
  setAtLeast(id: string, untilMs: number): void;
  /** Whether any of `ids` is denied now. */
  has(ids: readonly string[]): boolean;
  /** The ids denied now, with their expiry (epoch milliseconds). */
  entries(): Array<[id: string, untilMs: number]>;
  /** Forgets expired ids. */
  prune(): void;
  size(): number;
}

export function createLocalDenylistCopy(now: () => number = Date.now): LocalDenylistCopy {
  const entries = new Map<string, number>();
  return {
    set(id, untilMs) {
      const known = entries.get(id);
      if (known === undefined || known < untilMs) entries.set(id, untilMs);
    },
    setAtLeast(id, untilMs) {
      if (!entries.has(id)) entries.set(id, untilMs);
    },
    has(ids) {
      const t = now();
      return ids.some((id) => {
        const until = entries.get(id);
        return until !== undefined && until > t;
      });
    },
    entries() {
      const t = now();
      return [...entries].filter(([, until]) => until > t);
    },
    prune() {
      const t = now();
      for (const [id, until] of entries) if (until <= t) entries.delete(id);
    },
    size: () => entries.size,
  };
}
