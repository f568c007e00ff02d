import { z } from 'zod';
import type { Server, Socket } from 'socket.io';
import {
  objectIdSchema,
  type Ack,
  type ClientToServerEvents,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '@cohort/common';

/*
 * Events this service adds to the contract in libs/common (to be moved there; see the README).
 *  - `auth:refresh` lets a client that holds its token (non-browser) extend a live socket past the token's expiry.
 *    Browsers (httpOnly cookie) refresh over HTTP and reconnect instead.
 *  - `presence:get` answers who among a chat's members is online now (the `presence` events are only changes).
 *  - `auth:expired` is sent just before the server closes a socket whose token expired.
 */
export const authRefreshPayloadSchema = z.strictObject({ token: z.string().min(1).max(4096) });
export const presenceGetPayloadSchema = z.strictObject({ chatId: objectIdSchema });

export type AuthRefreshPayload = z.infer<typeof authRefreshPayloadSchema>;
export type PresenceGetPayload = z.infer<typeof presenceGetPayloadSchema>;

export interface RealtimeClientEvents {
  'auth:refresh': (payload: AuthRefreshPayload, ack: (res: Ack<{ expiresAt: number }>) => void) => void;
  'presence:get': (payload: PresenceGetPayload, ack: (res: Ack<{ online: string[] }>) => void) => void;
}

export interface RealtimeServerEvents {
  'auth:expired': (payload: { reason: 'expired' }) => void;
}

export type ClientEvents = ClientToServerEvents & RealtimeClientEvents;
export type ServerEvents = ServerToClientEvents & RealtimeServerEvents;

/** What the handshake stores on each socket: the contract's fields plus the token's issue time. */
export interface RealtimeSocketData extends SocketData {
  tokenIssuedAt: number;
}

export type RealtimeServer = Server<ClientEvents, ServerEvents, InterServerEvents, RealtimeSocketData>;
export type RealtimeSocket = Socket<ClientEvents, ServerEvents, InterServerEvents, RealtimeSocketData>;

export type AckError = Extract<Ack<object>, { ok: false }>;

export const userRoom = (userId: string): string => `user:${userId}`;
export const chatRoom = (chatId: string): string => `chat:${chatId}`;
