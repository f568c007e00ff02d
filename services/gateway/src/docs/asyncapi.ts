import {
  authRefreshPayloadSchema,
  presenceGetPayloadSchema,
  chatReadPayloadSchema,
  chatSendPayloadSchema,
  chatSyncPayloadSchema,
  chatTypingPayloadSchema,
  objectIdSchema,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@cohort/common';
import { z } from 'zod';
import { chatSchema, messageSchema } from './response-schemas';
import { fixRegexFlagPatterns } from './regex-flags';

const ackError = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.string(), message: z.string() }),
});
const ackOf = <S extends z.ZodRawShape>(shape: S) =>
  z.union([z.object({ ok: z.literal(true), ...shape }), ackError]);

interface EventSpec {
  summary: string;
  payload: z.ZodType;
  ack?: z.ZodType;
}

/** Client → server events: the payload schemas realtime validates with (libs/common socket-events.ts). */
const clientEvents: Record<keyof ClientToServerEvents, EventSpec> = {
  'chat:send': {
    summary:
      'Send a message. Acked only after it is stored; the same clientMsgId returns the same message, delivered once.',
    payload: chatSendPayloadSchema,
    ack: ackOf({ message: messageSchema }),
  },
  'chat:sync': {
    summary: 'Fetch what was missed while away: messages after `afterSeq`, ascending, up to 100.',
    payload: chatSyncPayloadSchema,
    ack: ackOf({ messages: z.array(messageSchema) }),
  },
  'chat:typing': { summary: 'I am typing in a chat.', payload: chatTypingPayloadSchema },
  'chat:read': { summary: 'Move my read marker.', payload: chatReadPayloadSchema, ack: ackOf({}) },
  'auth:refresh': {
    summary:
      'Extend a live socket with a fresh access token (clients that hold their token; browsers reconnect).',
    payload: authRefreshPayloadSchema,
    ack: ackOf({ expiresAt: z.number().int() }),
  },
  'presence:get': {
    summary: 'Who among a chat’s members is online now.',
    payload: presenceGetPayloadSchema,
    ack: ackOf({ online: z.array(objectIdSchema) }),
  },
};

/** Server → client events; every key of ServerToClientEvents must appear (checked by the type). */
const serverEvents: Record<keyof ServerToClientEvents, EventSpec> = {
  'chat:new': {
    summary:
      "A new message, to every socket in `chat:<chatId>` on every replica (the sender's other sockets included).",
    payload: z.object({ message: messageSchema }),
  },
  'chat:updated': { summary: 'A message was edited.', payload: z.object({ message: messageSchema }) },
  'chat:deleted': {
    summary: 'A message was deleted (text removed, seq kept).',
    payload: z.object({ message: messageSchema }),
  },
  'chat:typing': {
    summary: 'A member is typing.',
    payload: z.object({ chatId: objectIdSchema, userId: objectIdSchema }),
  },
  'chat:read': {
    summary: 'A member moved their read marker.',
    payload: z.object({ chatId: objectIdSchema, userId: objectIdSchema, seq: z.number().int().min(0) }),
  },
  presence: {
    summary: 'A user sharing a chat came online or went offline.',
    payload: z.object({ userId: objectIdSchema, online: z.boolean() }),
  },
  'chat:added': {
    summary: 'I was added to a chat (the socket joins its room).',
    payload: z.object({ chat: chatSchema }),
  },
  'chat:removed': { summary: 'I was removed from a chat.', payload: z.object({ chatId: objectIdSchema }) },
  'auth:expired': {
    summary: 'The access token expired: the server closes this socket next (refresh, then reconnect).',
    payload: z.object({ reason: z.literal('expired') }),
  },
};

type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema (draft 7) of a zod schema. Named schemas (`.meta({ id })`: Message, Chat…) come out as
 * `definitions`; they are moved into `shared` (the document's components.schemas) and referenced there.
 */
function jsonSchema(schema: z.ZodType, shared: Record<string, JsonSchema>): JsonSchema {
  const out = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'output',
    unrepresentable: 'any',
  }) as JsonSchema;
  delete out.$schema;
  const definitions = (out.definitions ?? {}) as Record<string, JsonSchema>;
  delete out.definitions;
  for (const [name, definition] of Object.entries(definitions)) shared[name] ??= retarget(definition);
  return retarget(out);
}

function retarget(schema: JsonSchema): JsonSchema {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"#/definitions/', '"#/components/schemas/'),
  ) as JsonSchema;
}

const messageKey = (direction: 'client' | 'server', event: string) =>
  `${direction}.${event.replace(/:/g, '.')}`;

/**
 * AsyncAPI 2.6 document of the Socket.IO contract (DESIGN.md §4), generated from the schemas realtime
 * validates with. In AsyncAPI 2.x `publish` is what clients send to the server and `subscribe` what
 * they receive. Acks are described with the `x-ack` extension (Socket.IO acknowledgements).
 */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = {};
  const entry = (direction: 'client' | 'server', event: string, spec: EventSpec) => {
    const key = messageKey(direction, event);
    messages[key] = {
      name: event,
      title: event,
      summary: spec.summary,
      contentType: 'application/json',
      payload: jsonSchema(spec.payload, schemas),
      ...(spec.ack
        ? { 'x-ack': { description: 'Socket.IO acknowledgement', payload: jsonSchema(spec.ack, schemas) } }
        : {}),
    };
    return { $ref: `#/components/messages/${key}` };
  };
  const published = Object.entries(clientEvents).map(([event, spec]) => entry('client', event, spec));
  const subscribed = Object.entries(serverEvents).map(([event, spec]) => entry('server', event, spec));

  const document = {
    asyncapi: '2.6.0',
    id: 'urn:cohortgpt:realtime',
    info: {
      title: 'cohortGPT realtime (Socket.IO)',
      version: '1.0.0',
      description:
        'Socket.IO v4 at path `/socket.io`, namespace `/`. The handshake authenticates from the `token` cookie, or ' +
        '`auth: { token }` for non-browser clients; failure is a `connect_error` with message `unauthorized`, and a ' +
        'handshake whose Origin is present and not allowed is refused. On connect the socket is in room `user:<id>` ' +
        'and in `chat:<chatId>` for each of its chats. Every member sees each stored message exactly once (dedupe by ' +
        "`id`/`seq`; after a reconnect `chat:sync` fills any gap). Logout disconnects that session's sockets within 3 s.",
    },
    servers: {
      public: {
        url: '{origin}/socket.io',
        protocol: 'wss',
        description: 'The public origin (the gateway in embedded mode, nginx in the cluster)',
        variables: { origin: { default: 'localhost:3000' } },
        security: [{ accessCookie: [] }, { handshakeToken: [] }],
      },
    },
    defaultContentType: 'application/json',
    channels: {
      '/': {
        description: 'The default namespace',
        publish: {
          operationId: 'clientEmits',
          summary: 'Events a client emits',
          message: { oneOf: published },
        },
        subscribe: {
          operationId: 'clientReceives',
          summary: 'Events a client receives',
          message: { oneOf: subscribed },
        },
      },
    },
    components: {
      messages,
      schemas,
      securitySchemes: {
        accessCookie: {
          type: 'httpApiKey',
          in: 'cookie',
          name: 'token',
          description: 'The access JWT cookie',
        },
        handshakeToken: {
          type: 'httpApiKey',
          in: 'query',
          name: 'token',
          description: 'Sent as Socket.IO `auth: { token }` in the handshake',
        },
      },
    },
  };
  fixRegexFlagPatterns(document);
  return document;
}
