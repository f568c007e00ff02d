import {
  AppError,
  parseOrThrow,
  type AccessClaims,
  type AccessTokenVerifier,
  type Logger,
} from '@cohort/common';
import type { LocalSockets } from '../local-sockets';
import type { RealtimeMetrics } from '../metrics';
import { authRefreshPayloadSchema, type RealtimeSocket } from '../socket-types';
import type { EventHandlers } from './handler-kit';

export interface AuthHandlersDeps {
  verify: AccessTokenVerifier;
  localSockets: LocalSockets;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** The replica's connected sockets (the namespace's own map), looked through for expired tokens. */
  sockets: ReadonlyMap<string, RealtimeSocket>;
}

export interface AuthHandlers {
  handlers: EventHandlers;
  /** Disconnects `socket` when its token expires (unless refreshed before). Call once it is connected. */
  watch(socket: RealtimeSocket): void;
  /** Stops the expiry timer (the server is closing). */
  close(): void;
}

// setTimeout's ceiling (~24.8 days); a longer delay would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;
// Expiries closer together than this are handled by one pass over the sockets.
const MIN_PASS_INTERVAL_MS = 1000;

/**
 * Verifies a token, telling a bad token (`unauthorized`) from a verifier that cannot answer right now
 * (JWKS or denylist unreachable: `unavailable`, so the client retries instead of logging the user out).
 */
export async function verifyToken(
  verify: AccessTokenVerifier,
  token: string,
  logger: Logger,
): Promise<AccessClaims> {
  try {
    return await verify(token);
  } catch (err) {
    if (err instanceof AppError) throw err;
    logger.warn({ err }, 'token verification unavailable');
    throw new AppError(503, 'unavailable', 'Cannot verify the session right now; try again');
  }
}

/**
 * A socket lives no longer than its access token: at expiry the server sends `auth:expired` and disconnects it,
 * unless the client sent a fresh token of the same user through `auth:refresh` before.
 *
 * One timer serves every socket (a timer and its closure per socket would cost each idle socket a few hundred
 * bytes): it fires at the earliest expiry, then one pass over the connected sockets disconnects the expired ones
 * and sets it for the next. Passes are at least a second apart, so a burst of expiries costs one pass.
 */
export function createAuthHandlers({
  verify,
  localSockets,
  metrics,
  logger,
  sockets,
}: AuthHandlersDeps): AuthHandlers {
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

  const handlers: EventHandlers = {
    'auth:refresh': async (socket, payload, reply) => {
      const { token } = parseOrThrow(authRefreshPayloadSchema, payload);
      const claims = await verifyToken(verify, token, logger);
      if (claims.userId !== socket.data.userId)
        throw AppError.unauthorized('The token belongs to another user');
      if (!socket.connected) return;
      if (claims.sessionId !== socket.data.sessionId) {
        localSockets.removeSession(socket, socket.data.sessionId);
        localSockets.addSession(socket, claims.sessionId);
      }
      socket.data.sessionId = claims.sessionId;
      socket.data.tokenId = claims.tokenId;
      socket.data.tokenIssuedAt = claims.issuedAt;
      socket.data.tokenExpiresAt = claims.expiresAt;
      passAt(claims.expiresAt * 1000);
      reply({ ok: true, expiresAt: claims.expiresAt });
    },
  };

  return {
    handlers,
    watch: (socket) => passAt(socket.data.tokenExpiresAt * 1000),
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
