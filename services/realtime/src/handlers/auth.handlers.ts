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
import { onEvent } from './handler-kit';

export interface AuthHandlersDeps {
  verify: AccessTokenVerifier;
  localSockets: LocalSockets;
  metrics: RealtimeMetrics;
  logger: Logger;
}

// setTimeout's ceiling (~24.8 days); a longer delay would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

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
 */
export function createAuthHandlers({ verify, localSockets, metrics, logger }: AuthHandlersDeps) {
  return (socket: RealtimeSocket): void => {
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      clearTimeout(timer);
      const delay = Math.min(MAX_TIMER_MS, Math.max(0, socket.data.tokenExpiresAt * 1000 - Date.now()));
      timer = setTimeout(() => {
        if (socket.data.tokenExpiresAt * 1000 > Date.now()) return schedule();
        logger.debug(
          { socketId: socket.id, userId: socket.data.userId },
          'token expired: disconnecting socket',
        );
        socket.emit('auth:expired', { reason: 'expired' });
        metrics.eventsOut.inc({ event: 'auth:expired' });
        socket.disconnect(true);
      }, delay);
      timer.unref();
    };
    schedule();
    socket.on('disconnect', () => clearTimeout(timer));

    onEvent(socket, 'auth:refresh', logger, async (payload, reply) => {
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
      schedule();
      reply({ ok: true, expiresAt: claims.expiresAt });
    });
  };
}
