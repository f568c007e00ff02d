import type { Server, Socket } from 'socket.io';
import {
  type Ack,
  type ClientToServerEvents,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '@cohort/common';

/** The contract's events (libs/common socket-events.ts), named as this service uses them. */
export type ClientEvents = ClientToServerEvents;
export type ServerEvents = ServerToClientEvents;
export type RealtimeSocketData = SocketData;
export type { AuthRefreshPayload, PresenceGetPayload } from '@cohort/common';
export { authRefreshPayloadSchema, presenceGetPayloadSchema } from '@cohort/common';

export type RealtimeServer = Server<ClientEvents, ServerEvents, InterServerEvents, RealtimeSocketData>;
export type RealtimeSocket = Socket<ClientEvents, ServerEvents, InterServerEvents, RealtimeSocketData>;

export type AckError = Extract<Ack<object>, { ok: false }>;

export const userRoom = (userId: string): string => `user:${userId}`;
export const isUserRoom = (room: string): boolean => room.startsWith('user:');
export const chatRoom = (chatId: string): string => `chat:${chatId}`;
