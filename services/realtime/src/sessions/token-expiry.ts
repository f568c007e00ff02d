import type { Logger } from '@cohort/common';
import type { RealtimeMetrics } from '../metrics';
import type { RealtimeSocket } from '../socket-types';

export interface TokenExpiryDeps {
  /** The replica's connected sockets (the namespace's own map), looked through for expired tokens. */
  sockets: ReadonlyMap<string, RealtimeSocket>;
  metrics: RealtimeMetrics;
  logger: Logger;
}

export interface TokenExpiry {
  /**
   * Disconnects `socket` when the token in its `data` expires. Call once it is connected, and again when
   * `auth:refresh` gave it a new token (the old expiry then no longer applies: passes read `data`).
   */
  watch(socket: RealtimeSocket): void;
  /** Stops the timer (the server is closing). */
  close(): void;
}

// setTimeout's ceiling (~24.8 days); a longer delay would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;
// Expiries closer together than this are handled by one pass over the sockets.
const MIN_PASS_INTERVAL_MS = 1000;

/**
 * A socket lives no longer than its access token: at expiry the server sends `auth:expired` and disconnects it,
 * unless the client sent a fresh token of the same user through `auth:refresh` before.
 *
 * One timer serves every socket (a timer and its closure per socket would cost each idle socket a few hundred
 * bytes): it fires at the earliest expiry, then one pass over the connected sockets disconnects the expired ones
 * and sets it for the next. Passes are at least a second apart, so a burst of expiries costs one pass.
 */
export function createTokenExpiry({ sockets, metrics, logger }: TokenExpiryDeps): TokenExpiry {
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let lastPass = Number.NEGATIVE_INFINITY;
  let closed = false;

  const expire = (socket: RealtimeSocket) => {
    logger.debug({ socketId: socket.id, userId: socket.data.userId }, 'token expired: disconnecting socket');
    socket.emit('auth:expired', { reason: 'expired' });
    metrics.eventsOut.inc({ event: 'auth:expired' });
    socket.disconnect(true);
  };

  /** Makes sure a pass runs at `at` (ms) or, to keep passes a second apart, shortly after. */
  const passAt = (at: number) => {
    if (closed || at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    const now = Date.now();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - now, lastPass + MIN_PASS_INTERVAL_MS - now));
    timer = setTimeout(pass, delay);
    timer.unref();
  };

  function pass(): void {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    lastPass = Date.now();
    const expired: RealtimeSocket[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const socket of sockets.values()) {
      const at = socket.data.tokenExpiresAt * 1000;
      if (at <= lastPass) expired.push(socket);
      else if (at < next) next = at;
    }
    for (const socket of expired) expire(socket);
    if (next < Number.POSITIVE_INFINITY) passAt(next);
  }

  return {
    watch: (socket) => passAt(socket.data.tokenExpiresAt * 1000),
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
