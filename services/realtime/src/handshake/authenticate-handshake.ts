import { randomUUID } from 'node:crypto';
import {
  AppError,
  extractAccessToken,
  isAllowedOrigin,
  type AccessTokenVerifier,
  type Logger,
  type MembershipDirectory,
} from '@cohort/common';
import type { BlockPartners } from '../block-partners';
import type { ChatApiClient } from '../clients/chat-api.client';
import type { LocalSockets } from '../local-sockets';
import type { RealtimeMetrics } from '../metrics';
import { socketDataOf } from '../sessions/claims';
import { verifyToken } from '../sessions/verify-token';
import { chatRoom, userRoom, type RealtimeSocket } from '../socket-types';
import type { ConnectionQuota } from './connection-quota';
import { forgetCredentials } from './forget-credentials';
import { refusal } from './handshake-refusal';

export interface HandshakeDeps {
  /** Browser origins allowed besides the replica's own. */
  allowedOrigins: readonly string[];
  verifyAccessToken: AccessTokenVerifier;
  chatApi: ChatApiClient;
  /** Where a returning user's memberships are read first (Redis, filled by chat-api); none: chat-api is asked. */
  directory?: Pick<MembershipDirectory, 'read'> | undefined;
  localSockets: LocalSockets;
  /** Filled here for the connecting user from the memberships answer. */
  blockPartners: BlockPartners;
  /** The cap on a user's sockets over every replica. */
  connections: ConnectionQuota;
  /** The shared string of a room name (room-names.ts). */
  roomName: (room: string) => string;
  /** True once the replica is closing: new handshakes are refused. */
  draining: () => boolean;
  metrics: Pick<RealtimeMetrics, 'handshakeMemberships'>;
  logger: Logger;
}

/** Socket.IO's connection middleware (`io.use`); it calls `next` exactly once, before its promise settles. */
export type HandshakeMiddleware = (socket: RealtimeSocket, next: (err?: Error) => void) => Promise<void>;

const refusalOf = (err: unknown) =>
  refusal(err instanceof AppError && err.status === 401 ? 'unauthorized' : 'unavailable');

/**
 * Whether the client went away (closed, timed out) while its handshake was in progress: Socket.IO drops whatever
 * the middleware answers then, so the work still ahead is skipped. Engine.IO's `closed` state is final.
 */
export const clientGone = (socket: RealtimeSocket): boolean => socket.conn.readyState !== 'open';

/**
 * Takes a refused socket out of the rooms bus events joined it to while it was in the handshake (a chat it was added
 * to meanwhile, bus.consumers.ts): it never connects, so Socket.IO would never take it out, and the sharded adapter
 * would keep the room's subscription for it.
 */
function leaveJoinedRooms(socket: RealtimeSocket): void {
  for (const room of [...socket.rooms]) void socket.leave(room);
}

/** The token a client presents: `auth.token`, else `Authorization: Bearer`, else the token cookie. */
function presentedToken(socket: RealtimeSocket): string | undefined {
  const { auth, headers } = socket.handshake;
  const fromAuth: unknown =
    typeof auth === 'object' && auth !== null && 'token' in auth ? auth.token : undefined;
  if (typeof fromAuth === 'string' && fromAuth.length > 0) return fromAuth;
  return extractAccessToken({ authorization: headers.authorization, cookie: headers.cookie })?.token;
}

/**
 * Who may connect, and with which rooms: the Origin is checked, the token verified (then dropped from the
 * handshake), the claims become the socket's `data`, and the socket joins its user room and the rooms of every
 * chat it is a member of (the membership directory's entry for a returning user, else chat-api's answer) — before
 * the client sees `connect`, so nothing published for its chats is missed.
 */
export function authenticateHandshake({
  allowedOrigins,
  verifyAccessToken,
  chatApi,
  directory,
  localSockets,
  blockPartners,
  connections,
  roomName,
  draining,
  metrics,
  logger,
}: HandshakeDeps): HandshakeMiddleware {
  return async (socket, next) => {
    if (draining() || clientGone(socket)) return next(refusal('unavailable'));
    const { headers } = socket.handshake;
    if (!isAllowedOrigin(headers, allowedOrigins, socket.handshake.secure)) {
      logger.info({ origin: headers.origin }, 'handshake refused: origin not allowed');
      return next(refusal('unauthorized'));
    }
    const token = presentedToken(socket);
    if (!token) return next(refusal('unauthorized'));

    let claims;
    try {
      claims = await verifyToken(verifyAccessToken, token, logger);
    } catch (err) {
      return next(refusalOf(err));
    }
    forgetCredentials(socket);
    if (clientGone(socket)) return next(refusal('unavailable'));
    socket.data = socketDataOf(claims);

    // Bus events for the user reach the socket from here on (chat:added/removed), though it is not connected yet.
    localSockets.startHandshake(socket, claims.userId);
    let placed = false;
    let admitted = false;
    try {
      // The cap's place, taken before any room is joined (given back below on failure, else by the socket's
      // `disconnecting`), and the directory's entry are asked together: one round trip to Redis, shared with the
      // other handshakes of this turn (redisRoundTrips). A refused handshake wasted one read; a read that failed
      // sends the lookup to chat-api.
      const reading = directory?.read([claims.userId]).catch(() => undefined);
      if (!(await connections.acquire(claims.userId, socket.id))) {
        logger.info({ userId: claims.userId }, 'handshake refused: too many connections');
        return next(refusal('too_many_connections'));
      }
      placed = true;
      if (clientGone(socket)) {
        connections.release(claims.userId, socket.id);
        return next(refusal('unavailable'));
      }
      const held = (await reading)?.get(claims.userId);
      metrics.handshakeMemberships.inc({ source: held ? 'directory' : 'chat-api' });
      const { chatIds, blockPartners: partners } = held ?? (await chatApi.memberships(claims, randomUUID()));
      // A client gone during the handshake never gets `connection` nor `disconnecting`: give its place back here,
      // join no rooms (the sharded adapter would subscribe to them) and keep no partners (nothing would drop them).
      if (clientGone(socket)) {
        connections.release(claims.userId, socket.id);
        return next(refusal('unavailable'));
      }
      await socket.join([userRoom(claims.userId), ...chatIds.map(chatRoom)].map(roomName));
      if (clientGone(socket)) connections.release(claims.userId, socket.id);
      else blockPartners.set(claims.userId, partners);
      admitted = true;
      next();
    } catch (err) {
      if (placed) connections.release(claims.userId, socket.id);
      logger.warn({ err, userId: claims.userId }, 'handshake failed: memberships unavailable');
      next(refusalOf(err));
    } finally {
      localSockets.endHandshake(socket, claims.userId);
      // Every refusal from here on, whichever step refused.
      if (!admitted) leaveJoinedRooms(socket);
    }
  };
}
