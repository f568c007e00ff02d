/*
 * How a replica keeps its sockets' entries in Redis (presence, the connection quota) alive.
 *
 * A replica's liveness is one entry, refreshed every heartbeat (PRESENCE_TTL_MS / 3); a replica silent for
 * PRESENCE_TTL_MS is dead, and a survivor sweeps its sockets (presence/redis-presence.store.ts). The per-socket
 * entries therefore need no heartbeat of their own: they carry a long expiry, a backstop for what no sweep reaches
 * (every replica gone at once, a write lost on the way). Each heartbeat renews one slice of the users held here, so
 * every user once per RENEWAL_SLICES heartbeats, and an entry not renewed for three such rounds expires. Holding N
 * sockets costs a replica about N / RENEWAL_SLICES writes per heartbeat instead of N.
 */

/** Heartbeats per renewal round: each renews the users of one slice. */
export const RENEWAL_SLICES = 30;

/** The heartbeat period for a presence TTL: a third of it, at least a second. */
export function heartbeatMs(ttlMs: number): number {
  return Math.max(1000, Math.floor(ttlMs / 3));
}

/** How long a socket's entry lives unrenewed: three renewal rounds. */
export function socketTtlMs(ttlMs: number): number {
  return 3 * RENEWAL_SLICES * heartbeatMs(ttlMs);
}

/** The slice a user's entries are renewed in (stable for the user: FNV-1a of the id). */
export function sliceOf(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % RENEWAL_SLICES;
}
