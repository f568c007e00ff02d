import { AppError, authRefreshPayloadSchema, type AccessTokenVerifier, type Logger } from '@cohort/common';
import type { EventHandlers } from '../events/event-handler';
import type { LocalSockets } from '../local-sockets';
import { socketDataOf } from '../sessions/claims';
import type { TokenExpiry } from '../sessions/token-expiry';
import { verifyToken } from '../sessions/verify-token';

export interface AuthHandlersDeps {
  verify: AccessTokenVerifier;
  localSockets: LocalSockets;
  expiry: TokenExpiry;
  logger: Logger;
}

export type AuthHandlers = EventHandlers<'auth:refresh'>;

/** `auth:refresh`: a client holding its token extends a live socket past the token's expiry (same user only). */
export function createAuthHandlers({ verify, localSockets, expiry, logger }: AuthHandlersDeps): AuthHandlers {
  return {
    'auth:refresh': {
      payload: authRefreshPayloadSchema,
      async handle(socket, { token }, reply) {
        const claims = await verifyToken(verify, token, logger);
        if (claims.userId !== socket.data.userId)
          throw AppError.unauthorized('The token belongs to another user');
        if (!socket.connected) return;
        if (claims.sessionId !== socket.data.sessionId) {
          localSockets.removeSession(socket, socket.data.sessionId);
          localSockets.addSession(socket, claims.sessionId);
        }
        socket.data = socketDataOf(claims);
        expiry.watch(socket);
        reply({ ok: true, expiresAt: claims.expiresAt });
      },
    },
  };
}
