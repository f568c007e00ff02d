import type { AccessClaims } from '@cohort/common';
import type { RealtimeSocket, RealtimeSocketData } from '../socket-types';

/** What a socket keeps of its verified token (its `data`): the claims, and nothing of the token itself. */
export function socketDataOf(claims: AccessClaims): RealtimeSocketData {
  return {
    userId: claims.userId,
    sessionId: claims.sessionId,
    tokenId: claims.tokenId,
    tokenExpiresAt: claims.expiresAt,
    tokenIssuedAt: claims.issuedAt,
  };
}

/** The claims chat-api calls are made with (forwarded as the caller's identity). */
export function claimsOf(socket: RealtimeSocket): AccessClaims {
  const { userId, sessionId, tokenId, tokenExpiresAt, tokenIssuedAt } = socket.data;
  return { userId, sessionId, tokenId, expiresAt: tokenExpiresAt, issuedAt: tokenIssuedAt };
}
