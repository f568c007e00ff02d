import {
  SOCKET_CLIENT_EVENTS,
  SOCKET_COMMON_ERRORS,
  SOCKET_SERVER_EVENTS,
  type ClientEventSpec,
  type ServerEventSpec,
} from '@cohort/common';
import { z } from 'zod';
import { fixRegexFlagPatterns } from './regex-flags';

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
 * AsyncAPI 2.6 document of the Socket.IO contract (docs/socket-events.md), generated from the event tables in libs/common
 * (`contracts/socket-contract.ts`): the payload schemas realtime validates with and the acks it answers. In AsyncAPI 2.x `publish` is what clients send to the server and `subscribe` what
 * they receive. Acks are described with the `x-ack` extension (Socket.IO acknowledgements).
 */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = {};
  const entry = (direction: 'client' | 'server', event: string, spec: ClientEventSpec | ServerEventSpec) => {
    const key = messageKey(direction, event);
    const ack = 'ack' in spec && spec.ack ? spec : undefined;
    messages[key] = {
      name: event,
      title: event,
      summary: spec.summary,
      contentType: 'application/json',
      payload: jsonSchema(spec.payload, schemas),
      ...(ack?.ack
        ? {
            'x-ack': {
              description:
                `Socket.IO acknowledgement${ack.ackOptional ? ' (optional: sent when the client passes one)' : ''}. ` +
                `Error codes: ${[...SOCKET_COMMON_ERRORS, ...(ack.errors ?? [])].map((c) => `\`${c}\``).join(', ')}`,
              payload: jsonSchema(ack.ack, schemas),
            },
          }
        : {}),
    };
    return { $ref: `#/components/messages/${key}` };
  };
  const published = Object.entries(SOCKET_CLIENT_EVENTS).map(([event, spec]) => entry('client', event, spec));
  const subscribed = Object.entries(SOCKET_SERVER_EVENTS).map(([event, spec]) =>
    entry('server', event, spec),
  );

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
