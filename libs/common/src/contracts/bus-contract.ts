import { z } from 'zod';
import type { AiControlEvent, AiEvent, BusChannels, ChatEvent, SessionEvent } from './bus-events';
import { chatSchema, messageSchema, reactionSummarySchema, responseIdSchema } from './responses';
import { assertSame, type Same } from './same-type';

/**
 * The bus (Redis pub/sub in the cluster, an in-process bus when embedded) as zod: chat-api publishes a
 * `chat-events` message after each committed write, auth a `session-events` message on each revocation. The
 * types in bus-events.ts are checked against these schemas below; docs/socket-events.md lists them.
 */
const chatId = responseIdSchema;
const userIds = z.array(responseIdSchema);

export const chatEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('chat:new'), chatId, message: messageSchema }),
  z.strictObject({ type: z.literal('chat:updated'), chatId, message: messageSchema }),
  z.strictObject({ type: z.literal('chat:deleted'), chatId, message: messageSchema }),
  z.strictObject({
    type: z.literal('chat:read'),
    chatId,
    userId: responseIdSchema,
    seq: z.number().int().min(0),
  }),
  z.strictObject({ type: z.literal('chat:added'), chatId, userIds, chat: chatSchema }),
  z.strictObject({ type: z.literal('chat:removed'), chatId, userIds }),
  z.strictObject({ type: z.literal('chat:changed'), chatId, chat: chatSchema }),
  z.strictObject({
    type: z.literal('chat:reactions'),
    chatId,
    messageId: responseIdSchema,
    reactions: z.array(reactionSummarySchema),
    reactionsVersion: z.number().int().min(1),
  }),
  z.strictObject({
    type: z.literal('users:block'),
    userIds: z.array(responseIdSchema).length(2),
    blocked: z.boolean(),
  }),
]);

export const sessionEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('session:revoked'),
    sessionId: z.string().min(1),
    userId: responseIdSchema,
  }),
]);

export const aiEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('ai:delta'),
    chatId,
    streamId: z.string(),
    replyTo: responseIdSchema,
    index: z.number().int().min(0),
    delta: z.string(),
  }),
]);

export const aiControlEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ai:stop'), chatId, streamId: z.string(), userId: responseIdSchema }),
]);

export interface BusChannelSpec {
  publisher: 'auth' | 'chat-api' | 'assistant' | 'realtime';
  consumers: readonly string[];
  summary: string;
  message: z.ZodType;
  /** What each `type` means, for the docs. */
  types: Readonly<Record<string, string>>;
}

export const BUS_CHANNELS = {
  'chat-events': {
    publisher: 'chat-api',
    consumers: ['realtime', 'chat-api'],
    summary:
      'After each committed write; realtime delivers it to the chat’s room on every replica, and every chat-api replica forgets cached memberships on `chat:removed` and `users:block`.',
    message: chatEventSchema,
    types: {
      'chat:new': 'A message was stored (→ socket `chat:new`).',
      'chat:updated': 'A message was edited (→ socket `chat:updated`).',
      'chat:deleted': 'A message was deleted (→ socket `chat:deleted`).',
      'chat:read': 'A member moved their read marker (→ socket `chat:read`).',
      'chat:added': 'Users were added to a chat: their sockets join the room (→ socket `chat:added`).',
      'chat:removed': 'Users left or were removed: their sockets leave the room (→ socket `chat:removed`).',
      'chat:changed': 'A chat was renamed (→ socket `chat:changed`).',
      'chat:reactions':
        'A message’s reactions changed: the full summary, with `reactionsVersion` (→ socket `chat:reactions`).',
      'users:block':
        'Two users entered or left a block relation: realtime stops or resumes relaying typing and presence between them.',
    },
  },
  'session-events': {
    publisher: 'auth',
    consumers: ['realtime'],
    summary: 'A session was revoked (logout, refresh-token reuse): its sockets are disconnected within 3 s.',
    message: sessionEventSchema,
    types: { 'session:revoked': 'The session and every access token issued for it are no longer valid.' },
  },
  'ai-events': {
    publisher: 'assistant',
    consumers: ['realtime'],
    summary: 'An answer being streamed; realtime relays each delta to the chat’s room on every replica.',
    message: aiEventSchema,
    types: { 'ai:delta': 'The next piece of an answer, in index order (→ socket `ai:delta`).' },
  },
  'ai-control': {
    publisher: 'realtime',
    consumers: ['assistant'],
    summary: 'A member’s request about an answer being generated.',
    message: aiControlEventSchema,
    types: {
      'ai:stop': 'Stop the stream: the replica generating it cancels the call and stores what it has.',
    },
  },
} as const satisfies Record<keyof BusChannels, BusChannelSpec>;

// Compile-time drift checks against bus-events.ts.
assertSame<Same<z.output<typeof chatEventSchema>, ChatEvent>>();
assertSame<Same<z.output<typeof sessionEventSchema>, SessionEvent>>();
assertSame<Same<z.output<typeof aiEventSchema>, AiEvent>>();
assertSame<Same<z.output<typeof aiControlEventSchema>, AiControlEvent>>();
