import { z } from 'zod';
import {
  clientMsgIdSchema,
  mentionsSchema,
  messageTextSchema,
  objectIdSchema,
  replyToSchema,
  streamIdSchema,
} from './http-schemas';
import { textString } from './text';
import type { Chat, Message, ReactionSummary } from './domain';

/** Socket.IO contract (docs/socket-events.md): payload schemas the realtime service validates with, and the typed events. */
export const chatSendPayloadSchema = z.strictObject({
  chatId: objectIdSchema,
  text: messageTextSchema,
  clientMsgId: clientMsgIdSchema,
  replyTo: replyToSchema.optional(),
  mentions: mentionsSchema.optional(),
});
export const chatSyncPayloadSchema = z.strictObject({
  chatId: objectIdSchema,
  afterSeq: z.number().int().min(0),
  limit: z.number().int().min(1).max(100).optional(),
});
export const chatTypingPayloadSchema = z.strictObject({ chatId: objectIdSchema });
export const chatReadPayloadSchema = z.strictObject({ chatId: objectIdSchema, seq: z.number().int().min(0) });

/** Catch up on an assistant stream: the deltas after `afterIndex` (−1: from the start). */
export const aiResumePayloadSchema = z.strictObject({
  chatId: objectIdSchema,
  streamId: streamIdSchema,
  afterIndex: z.number().int().min(-1),
});
/** Stop an assistant answer being generated (any member of the chat). */
export const aiStopPayloadSchema = z.strictObject({ chatId: objectIdSchema, streamId: streamIdSchema });

/** A piece of an assistant answer as it streams (`index` counts from 0 in each stream). */
export interface AiDelta {
  chatId: string;
  streamId: string;
  /** The triggering message's id. */
  replyTo: string;
  index: number;
  delta: string;
}

/** A client that holds its token (non-browser) extends a live socket past the token's expiry. */
export const authRefreshPayloadSchema = z.strictObject({ token: textString().min(1).max(4096) });
/** Who among a chat's members is online now (`presence` events carry only changes). */
export const presenceGetPayloadSchema = z.strictObject({ chatId: objectIdSchema });

export type ChatSendPayload = z.infer<typeof chatSendPayloadSchema>;
export type AuthRefreshPayload = z.infer<typeof authRefreshPayloadSchema>;
export type PresenceGetPayload = z.infer<typeof presenceGetPayloadSchema>;
export type ChatSyncPayload = z.infer<typeof chatSyncPayloadSchema>;
export type ChatTypingPayload = z.infer<typeof chatTypingPayloadSchema>;
export type ChatReadPayload = z.infer<typeof chatReadPayloadSchema>;
export type AiResumePayload = z.infer<typeof aiResumePayloadSchema>;
export type AiStopPayload = z.infer<typeof aiStopPayloadSchema>;

export interface AckError {
  ok: false;
  error: { code: string; message: string };
}
export type Ack<T extends object> = ({ ok: true } & T) | AckError;

export interface ClientToServerEvents {
  'chat:send': (payload: ChatSendPayload, ack: (res: Ack<{ message: Message }>) => void) => void;
  'chat:sync': (payload: ChatSyncPayload, ack: (res: Ack<{ messages: Message[] }>) => void) => void;
  'chat:typing': (payload: ChatTypingPayload) => void;
  'chat:read': (payload: ChatReadPayload, ack?: (res: Ack<object>) => void) => void;
  'auth:refresh': (payload: AuthRefreshPayload, ack: (res: Ack<{ expiresAt: number }>) => void) => void;
  'presence:get': (payload: PresenceGetPayload, ack: (res: Ack<{ online: string[] }>) => void) => void;
  'ai:resume': (
    payload: AiResumePayload,
    ack: (res: Ack<{ deltas: { index: number; delta: string }[]; ended: boolean }>) => void,
  ) => void;
  'ai:stop': (payload: AiStopPayload, ack: (res: Ack<object>) => void) => void;
}

export interface ServerToClientEvents {
  'chat:new': (payload: { message: Message }) => void;
  'chat:updated': (payload: { message: Message }) => void;
  'chat:deleted': (payload: { message: Message }) => void;
  'chat:typing': (payload: { chatId: string; userId: string }) => void;
  'chat:read': (payload: { chatId: string; userId: string; seq: number }) => void;
  presence: (payload: { userId: string; online: boolean }) => void;
  'chat:added': (payload: { chat: Chat }) => void;
  'chat:removed': (payload: { chatId: string }) => void;
  'chat:changed': (payload: { chat: Chat }) => void;
  'chat:reactions': (payload: {
    chatId: string;
    messageId: string;
    reactions: ReactionSummary[];
    reactionsVersion: number;
  }) => void;
  'ai:delta': (payload: AiDelta) => void;
  /** Sent just before the server closes a socket whose access token expired (browsers refresh over HTTP). */
  'auth:expired': (payload: { reason: 'expired' }) => void;
}

/** Replica-to-replica messages (kept off the hot path). */
export interface InterServerEvents {
  ping: () => void;
}

export interface SocketData {
  userId: string;
  sessionId: string;
  tokenId: string;
  tokenExpiresAt: number;
  tokenIssuedAt: number;
}
