/** The longest wait between two handshakes after refusals. */
export const MAX_REFUSAL_BACKOFF_MS = 30_000;

/**
 * How long to wait before the next handshake after `refusals` refused ones in a row (1 = the first): 0, then
 * 1, 2, 4 … 30 s, each spread over ±50 % so the clients of a lost replica do not come back in step. A server
 * that said `overloaded` (its handshake bound is full: a reconnect storm) is not asked again at once: the first
 * retry already waits 0.5–1.5 s.
 */
export function refusalBackoffMs(refusals: number, code: string, random: () => number = Math.random): number {
  const step = code === 'overloaded' ? refusals : refusals - 1;
  if (step <= 0) return 0;
  const base = Math.min(MAX_REFUSAL_BACKOFF_MS, 500 * 2 ** step);
  return Math.min(MAX_REFUSAL_BACKOFF_MS, Math.round(base * (0.5 + random())));
}
