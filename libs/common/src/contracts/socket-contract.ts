import { z } from 'zod';
import type { ErrorCode } from './error-codes';
import {
  aiResumePayloadSchema,
  aiStopPayloadSchema,
  authRefreshPayloadSchema,
  chatReadPayloadSchema,
  chatSendPayloadSchema,
  chatSyncPayloadSchema,
  chatTypingPayloadSchema,
  presenceGetPayloadSchema,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from './socket-events';
import { chatSchema, messageSchema, reactionSummarySchema, responseIdSchema } from './responses';
import { assertSame, type Same } from './same-type';

/**
 * The Socket.IO contract (docs/socket-events.md) as tables: each client → server event with the payload schema realtime
 * validates with and its ack, each server → client event with its payload. The AsyncAPI document and
 * docs/socket-events.md are generated from them; the types in socket-events.ts are checked against them below.
 */
export const ackErrorSchema = z
  .strictObject({
    ok: z.literal(false),
    error: z.strictObject({ code: z.string(), message: z.string() }),
  })
  .meta({ id: 'AckError' });

/** `{ok:true, …shape} | {ok:false, error}`: every ack of the contract. */
export const ackSchema = <S extends z.ZodRawShape>(shape: S) =>
  z.union([z.strictObject({ ok: z.literal(true), ...shape }), ackErrorSchema]);

export interface ClientEventSpec {
  summary: string;
  payload: z.ZodType;
  /** Absent: the event has no ack. */
  ack?: z.ZodType;
  /** Whether the client may leave the ack out (the server answers when one is given). */
  ackOptional?: boolean;
  /** The `error.code` values an error ack of this event may carry, besides those of every event. */
  errors?: readonly ErrorCode[];
}

export interface ServerEventSpec {
  summary: string;
  payload: z.ZodType;
}

/** Error codes any client event's ack may carry (the event router's own refusals). */
export const SOCKET_COMMON_ERRORS: readonly ErrorCode[] = [
  'validation_error',
  'rate_limited',
  'unknown_event',
  'internal_error',
];

export const SOCKET_CLIENT_EVENTS = {
  'chat:send': {
    summary:
      'Send a message (optionally replying with `replyTo`, mentioning members with `mentions`). Acked only after ' +
      'it is stored; the same clientMsgId returns the same message, delivered once.',
    payload: chatSendPayloadSchema,
    ack: ackSchema({ message: messageSchema }),
    errors: [
      'chat_not_found',
      'blocked',
      'invalid_reply',
      'invalid_mention',
      'sequence_contention',
      'store_unavailable',
      'unavailable',
      'timeout',
    ],
  },
  'chat:sync': {
    summary: 'Fetch what was missed while away: messages after `afterSeq`, ascending, up to 100.',
    payload: chatSyncPayloadSchema,
    ack: ackSchema({ messages: z.array(messageSchema) }),
    errors: ['chat_not_found', 'unavailable', 'timeout'],
  },
  'chat:typing': { summary: 'I am typing in a chat (no ack).', payload: chatTypingPayloadSchema },
  'chat:read': {
    summary: 'Move my read marker.',
    payload: chatReadPayloadSchema,
    ack: ackSchema({}),
    ackOptional: true,
    errors: ['chat_not_found', 'unavailable', 'timeout'],
  },
  'auth:refresh': {
    summary:
      'Extend a live socket with a fresh access token (clients that hold their token; browsers reconnect).',
    payload: authRefreshPayloadSchema,
    ack: ackSchema({
      expiresAt: z.number().int().meta({ description: 'The new token’s expiry, seconds since the epoch' }),
    }),
    errors: ['unauthorized', 'unavailable'],
  },
  'presence:get': {
    summary: 'Who among a chat’s members is online now.',
    payload: presenceGetPayloadSchema,
    ack: ackSchema({ online: z.array(responseIdSchema) }),
    errors: ['chat_not_found', 'unavailable', 'timeout'],
  },
  'ai:resume': {
    summary:
      'Catch up on an assistant answer: the deltas after `afterIndex` (−1: all) and whether the stream ended. ' +
      'Any replica answers, also after the one that streamed died; once `ended`, the stored answer (`chat:new`, ' +
      '`chat:sync`) is the whole text.',
    payload: aiResumePayloadSchema,
    ack: ackSchema({
      deltas: z.array(z.strictObject({ index: z.number().int().min(0), delta: z.string() })),
      ended: z.boolean(),
    }),
    errors: ['stream_not_found', 'unavailable'],
  },
  'ai:stop': {
    summary:
      'Stop an assistant answer being generated (any member): the stored answer keeps what was generated, ' +
      'status `stopped`.',
    payload: aiStopPayloadSchema,
    ack: ackSchema({}),
    errors: ['stream_not_found', 'unavailable'],
  },
} as const satisfies Record<keyof ClientToServerEvents, ClientEventSpec>;

export const SOCKET_SERVER_EVENTS = {
  'chat:new': {
    summary:
      "A new message, to every socket in `chat:<chatId>` on every replica (the sender's other sockets included).",
    payload: z.strictObject({ message: messageSchema }),
  },
  'chat:updated': {
    summary: 'A message was edited (keep the highest `version`).',
    payload: z.strictObject({ message: messageSchema }),
  },
  'chat:deleted': {
    summary: 'A message was deleted: text removed, seq kept, `version` up by one.',
    payload: z.strictObject({ message: messageSchema }),
  },
  'chat:typing': {
    summary: 'A member is typing.',
    payload: z.strictObject({ chatId: responseIdSchema, userId: responseIdSchema }),
  },
  'chat:read': {
    summary: 'A member moved their read marker.',
    payload: z.strictObject({
      chatId: responseIdSchema,
      userId: responseIdSchema,
      seq: z.number().int().min(0),
    }),
  },
  presence: {
    summary: 'A user sharing a chat came online or went offline.',
    payload: z.strictObject({ userId: responseIdSchema, online: z.boolean() }),
  },
  'chat:added': {
    summary: 'I was added to a chat (the socket joins its room).',
    payload: z.strictObject({ chat: chatSchema }),
  },
  'chat:removed': {
    summary: 'I was removed from a chat (the socket leaves its room).',
    payload: z.strictObject({ chatId: responseIdSchema }),
  },
  'chat:changed': {
    summary: 'A chat was renamed: the chat (without its members), to every member.',
    payload: z.strictObject({ chat: chatSchema }),
  },
  'chat:reactions': {
    summary:
      'A message’s reactions changed: the full summary (not a delta); keep the one with the highest `reactionsVersion`.',
    payload: z.strictObject({
      chatId: responseIdSchema,
      messageId: responseIdSchema,
      reactions: z.array(reactionSummarySchema),
      reactionsVersion: z.number().int().min(1),
    }),
  },
  'ai:delta': {
    summary:
      'A piece of an assistant answer, to every socket of the chat on every replica, in `index` order (coalesced: ' +
      'tens of ms per delta). The stored answer (`chat:new`, `message.ai`) is the deltas joined in index order; a ' +
      'client that missed some asks `ai:resume`.',
    payload: z.strictObject({
      chatId: responseIdSchema,
      streamId: z.string(),
      replyTo: responseIdSchema,
      index: z.number().int().min(0),
      delta: z.string(),
    }),
  },
  'auth:expired': {
    summary: 'The access token expired: the server closes this socket next (refresh, then reconnect).',
    payload: z.strictObject({ reason: z.literal('expired') }),
  },
} as const satisfies Record<keyof ServerToClientEvents, ServerEventSpec>;

// Compile-time drift checks: the tables and the typed events of socket-events.ts say the same, event by event.
type ClientPayload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
type ClientAck<E extends keyof ClientToServerEvents> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];
type ServerPayload<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];
type AllTrue<T> = T[keyof T] extends true ? true : false;
type AckType<S> = S extends { ack: z.ZodType } ? z.output<S['ack']> : undefined;
type ClientEvent = keyof ClientToServerEvents;

assertSame<
  AllTrue<{
    [E in ClientEvent]: Same<z.output<(typeof SOCKET_CLIENT_EVENTS)[E]['payload']>, ClientPayload<E>>;
  }>
>();
assertSame<
  AllTrue<{
    [E in ClientEvent]: Parameters<ClientToServerEvents[E]>[1] extends undefined
      ? true
      : Same<AckType<(typeof SOCKET_CLIENT_EVENTS)[E]>, ClientAck<E>>;
  }>
>();
assertSame<
  AllTrue<{
    [E in keyof ServerToClientEvents]: Same<
      z.output<(typeof SOCKET_SERVER_EVENTS)[E]['payload']>,
      ServerPayload<E>
    >;
  }>
>();
