import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  addMemberBodySchema,
  chatParamsSchema,
  createChatBodySchema,
  editMessageBodySchema,
  listMessagesQuerySchema,
  loginBodySchema,
  memberParamsSchema,
  messageParamsSchema,
  readMarkerBodySchema,
  registerBodySchema,
  sendMessageBodySchema,
  userSearchQuerySchema,
  userLookupQuerySchema,
} from '@cohort/common';
import { z } from 'zod';
import {
  chatEnvelope,
  chatsEnvelope,
  errorSchema,
  jwksSchema,
  messageEnvelope,
  messagesEnvelope,
  userEnvelope,
  usersEnvelope,
} from './response-schemas';
import { fixRegexFlagPatterns } from './regex-flags';

type Method = RouteConfig['method'];
type Responses = RouteConfig['responses'];
type Access = 'public' | 'session' | 'refresh';

/** Every row of DESIGN.md §2, as `METHOD /openapi/{path}`: the OpenAPI test checks each one is documented. */
export const CONTRACT_OPERATIONS = [
  'post /api/auth/register',
  'post /api/auth/login',
  'post /api/auth/refresh',
  'post /api/auth/logout',
  'get /api/auth/me',
  'get /api/auth/jwks.json',
  'get /api/users/search',
  'get /api/users',
  'post /api/chats',
  'get /api/chats',
  'get /api/chats/{chatId}',
  'post /api/chats/{chatId}/members',
  'delete /api/chats/{chatId}/members/{userId}',
  'get /api/chats/{chatId}/messages',
  'post /api/chats/{chatId}/messages',
  'patch /api/chats/{chatId}/messages/{messageId}',
  'delete /api/chats/{chatId}/messages/{messageId}',
  'post /api/chats/{chatId}/read',
] as const;

// Named clones (`.meta` returns a copy): the common schemas get component names without being mutated.
const named = {
  RegisterBody: registerBodySchema.meta({ id: 'RegisterBody' }),
  LoginBody: loginBodySchema.meta({ id: 'LoginBody' }),
  CreateChatBody: createChatBodySchema.meta({ id: 'CreateChatBody' }),
  AddMemberBody: addMemberBodySchema.meta({ id: 'AddMemberBody' }),
  SendMessageBody: sendMessageBodySchema.meta({ id: 'SendMessageBody' }),
  EditMessageBody: editMessageBodySchema.meta({ id: 'EditMessageBody' }),
  ReadMarkerBody: readMarkerBodySchema.meta({ id: 'ReadMarkerBody' }),
};

const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const body = <S extends z.ZodType>(schema: S) => ({
  required: true,
  content: { 'application/json': { schema } },
});
const failure = (description: string) => json(errorSchema, description);
const noContent = (description: string) => ({ description });

const SESSION_COOKIES = {
  'Set-Cookie': {
    description:
      '`token` (access JWT, httpOnly, SameSite=Lax, ~15 min) and the opaque refresh cookie (httpOnly)',
    schema: { type: 'string' as const },
  },
};

/** Builds the OpenAPI 3 document of the public HTTP API from the zod schemas the services validate with. */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV3['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'cookieAuth', {
    type: 'apiKey',
    in: 'cookie',
    name: 'token',
    description: 'The access JWT set by register/login/refresh',
  });
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The same access JWT, for non-browser clients',
  });

  const route = (
    method: Method,
    path: string,
    access: Access,
    spec: Omit<RouteConfig, 'method' | 'path'>,
  ) => {
    const responses: Responses = { ...spec.responses };
    if (access === 'session')
      responses[401] ??= failure('Missing, invalid, expired or revoked access token (`unauthorized`)');
    if (method !== 'get') {
      responses[403] ??= failure('Cookie-authenticated request from a foreign Origin (`csrf`)');
      responses[413] ??= failure('Body larger than the limit (`payload_too_large`)');
    }
    responses[502] = failure('Upstream service unavailable (`upstream_unavailable`)');
    responses[504] = failure('Upstream service did not answer in time (`upstream_timeout`)');
    const security: Record<string, string[]>[] =
      access === 'session' ? [{ cookieAuth: [] }, { bearerAuth: [] }] : [];
    registry.registerPath({ method, path, security, ...spec, responses });
  };

  // auth
  route('post', '/api/auth/register', 'public', {
    tags: ['auth'],
    summary: 'Create an account and start a session',
    request: { body: body(named.RegisterBody) },
    responses: {
      201: { ...json(userEnvelope, 'Registered; session cookies set'), headers: SESSION_COOKIES },
      400: failure('Invalid body (`validation_error`)'),
      409: failure('Email already registered (`email_taken`)'),
    },
  });
  route('post', '/api/auth/login', 'public', {
    tags: ['auth'],
    summary: 'Start a session',
    request: { body: body(named.LoginBody) },
    responses: {
      200: { ...json(userEnvelope, 'Logged in; session cookies set'), headers: SESSION_COOKIES },
      400: failure('Invalid body'),
      401: failure('Unknown email or wrong password (`invalid_credentials`, same for both)'),
      429: {
        ...failure('Too many failed attempts for this account and IP'),
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
      },
    },
  });
  route('post', '/api/auth/refresh', 'refresh', {
    tags: ['auth'],
    summary: 'Rotate the session cookies using the refresh cookie',
    description: 'Reusing an already rotated refresh token revokes the whole session.',
    responses: {
      200: { ...json(userEnvelope, 'Cookies rotated'), headers: SESSION_COOKIES },
      401: failure('Missing, unknown, expired or reused refresh token'),
    },
  });
  route('post', '/api/auth/logout', 'public', {
    tags: ['auth'],
    summary: 'End the session',
    description:
      'The gateway forwards the identity when the access token is valid and forwards the request without one otherwise, ' +
      'so an expired session can still clear its cookies. Afterwards the old access token is refused everywhere.',
    security: [{ cookieAuth: [] }, { bearerAuth: [] }, {}],
    responses: { 204: noContent('Logged out; cookies cleared with the options they were set with') },
  });
  route('get', '/api/auth/me', 'session', {
    tags: ['auth'],
    summary: 'The current user',
    responses: { 200: json(userEnvelope, 'The user of this session') },
  });
  route('get', '/api/auth/jwks.json', 'public', {
    tags: ['auth'],
    summary: 'Public keys that verify access tokens',
    responses: { 200: json(jwksSchema, 'JWKS') },
  });
  route('get', '/api/users/search', 'session', {
    tags: ['users'],
    summary: 'Find users by name or email',
    request: { query: userSearchQuerySchema },
    responses: { 200: json(usersEnvelope, 'Matching users'), 400: failure('Invalid query') },
  });
  route('get', '/api/users', 'session', {
    tags: ['users'],
    summary: 'Users by id (comma-separated, at most 100; unknown ids are left out)',
    request: { query: userLookupQuerySchema },
    responses: {
      200: json(usersEnvelope, 'The users found, in the order asked'),
      400: failure('Invalid query'),
    },
  });

  // chat-api
  route('post', '/api/chats', 'session', {
    tags: ['chats'],
    summary: 'Create a group chat, or get-or-create a direct chat',
    request: { body: body(named.CreateChatBody) },
    responses: {
      200: json(chatEnvelope, 'The existing direct chat between the same two users'),
      201: json(chatEnvelope, 'Created'),
      400: failure('Invalid body'),
    },
  });
  route('get', '/api/chats', 'session', {
    tags: ['chats'],
    summary: 'My chats, newest activity first, each with its last message and unread count',
    responses: { 200: json(chatsEnvelope, 'Chats') },
  });
  route('get', '/api/chats/{chatId}', 'session', {
    tags: ['chats'],
    summary: 'A chat with its members',
    request: { params: chatParamsSchema },
    responses: {
      200: json(chatEnvelope, 'The chat'),
      404: failure('Unknown chat, or not a member (never 403)'),
    },
  });
  route('post', '/api/chats/{chatId}/members', 'session', {
    tags: ['chats'],
    summary: 'Add a member (owner only)',
    request: { params: chatParamsSchema, body: body(named.AddMemberBody) },
    responses: {
      201: noContent('Added'),
      400: failure('Invalid body'),
      403: failure('A member without the right'),
      404: failure('Unknown chat, or not a member'),
    },
  });
  route('delete', '/api/chats/{chatId}/members/{userId}', 'session', {
    tags: ['chats'],
    summary: 'Remove a member (owner), or leave (self)',
    request: { params: memberParamsSchema },
    responses: {
      204: noContent('Removed'),
      403: failure('A member without the right'),
      404: failure('Unknown chat, or not a member'),
    },
  });
  route('get', '/api/chats/{chatId}/messages', 'session', {
    tags: ['messages'],
    summary: 'A page of messages, ascending by seq',
    description:
      'Without a cursor: the newest `limit`. `before=X`: the `limit` just below X. `after=X`: the `limit` just above X.',
    request: { params: chatParamsSchema, query: listMessagesQuerySchema },
    responses: {
      200: json(messagesEnvelope, 'Messages'),
      400: failure('Invalid query'),
      404: failure('Unknown chat, or not a member'),
    },
  });
  route('post', '/api/chats/{chatId}/messages', 'session', {
    tags: ['messages'],
    summary: 'Send a message (idempotent by clientMsgId)',
    request: { params: chatParamsSchema, body: body(named.SendMessageBody) },
    responses: {
      200: json(messageEnvelope, 'The same clientMsgId again: the SAME message'),
      201: json(messageEnvelope, 'Stored'),
      400: failure('Invalid body (blank or longer than 4000 characters)'),
      404: failure('Unknown chat, or not a member'),
      429: failure('Send rate limit (at least 60 messages per 10 s are allowed)'),
    },
  });
  route('patch', '/api/chats/{chatId}/messages/{messageId}', 'session', {
    tags: ['messages'],
    summary: 'Edit my message',
    request: { params: messageParamsSchema, body: body(named.EditMessageBody) },
    responses: {
      200: json(messageEnvelope, 'Edited'),
      400: failure('Invalid body'),
      403: failure('Not the sender'),
      404: failure('Unknown chat or message'),
    },
  });
  route('delete', '/api/chats/{chatId}/messages/{messageId}', 'session', {
    tags: ['messages'],
    summary: 'Delete my message (soft: text removed, seq kept)',
    request: { params: messageParamsSchema },
    responses: {
      204: noContent('Deleted'),
      403: failure('Not the sender'),
      404: failure('Unknown chat or message'),
    },
  });
  route('post', '/api/chats/{chatId}/read', 'session', {
    tags: ['messages'],
    summary: 'Move my read marker',
    request: { params: chatParamsSchema, body: body(named.ReadMarkerBody) },
    responses: {
      204: noContent('Stored'),
      400: failure('Invalid body'),
      404: failure('Unknown chat, or not a member'),
    },
  });

  const generator = new OpenApiGeneratorV3(registry.definitions);
  const document = generator.generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'cohortGPT API',
      version: '1.0.0',
      description:
        'The public HTTP API behind the gateway. Errors are `{ "error": { "code", "message" } }`. Every response echoes ' +
        '`x-request-id` (generated when absent). The Socket.IO contract is described by /api/asyncapi.json.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'Sessions (served by the auth service)' },
      { name: 'users', description: 'User directory (auth service)' },
      { name: 'chats', description: 'Chats and members (chat-api)' },
      { name: 'messages', description: 'Messages and read markers (chat-api)' },
    ],
  });
  fixRegexFlagPatterns(document);
  return document;
}
