import { z } from 'zod';
import type { ErrorCode } from './error-codes';
import {
  addMemberBodySchema,
  chatParamsSchema,
  createChatBodySchema,
  editMessageBodySchema,
  listBlockedQuerySchema,
  listChatsQuerySchema,
  listMessagesQuerySchema,
  loginBodySchema,
  memberParamsSchema,
  messageParamsSchema,
  reactionParamsSchema,
  readMarkerBodySchema,
  searchMessagesQuerySchema,
  registerBodySchema,
  renameChatBodySchema,
  sendMessageBodySchema,
  userLookupQuerySchema,
  userParamsSchema,
  userSearchQuerySchema,
} from './http-schemas';
import {
  assistantEnvelopeSchema,
  blockedPageSchema,
  chatSummaryTextSchema,
  searchResultsSchema,
  chatEnvelopeSchema,
  chatPageSchema,
  jwksSchema,
  messageEnvelopeSchema,
  messagesEnvelopeSchema,
  userCardsEnvelopeSchema,
  userEnvelopeSchema,
} from './responses';

/**
 * The public HTTP API (docs/http-api.md, docs/security.md) as one table: every route the gateway serves, with its request schemas
 * (the ones the services validate with), its success statuses and bodies, and the error statuses and codes it may
 * answer. The OpenAPI document, docs/http-api.md and the route-by-route conformance test are generated from it.
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * `public`: no session; `session`: a valid access token (cookie or Bearer); `optional-session`: forwarded when
 * valid, let through without one (logout); `refresh-cookie`: the refresh cookie, not the access token.
 */
export type RouteAuth = 'public' | 'session' | 'optional-session' | 'refresh-cookie';

/** Who answers: the gateway itself, or the service it proxies the path to. */
export type RouteService = 'gateway' | 'auth' | 'chat-api' | 'assistant';

export interface SuccessResponse {
  description: string;
  /** Absent: no body (204). */
  body?: z.ZodType;
  /** Sets (or clears) the session cookies. */
  cookies?: 'set' | 'cleared';
}

export interface ErrorResponse {
  description: string;
  /** The `error.code` values this status carries on this route. */
  codes: readonly ErrorCode[];
  /** The answer carries `Retry-After` (seconds). */
  retryAfter?: boolean;
}

export interface HttpRoute {
  /** Unique, camelCase: the OpenAPI operationId. */
  operationId: string;
  method: HttpMethod;
  /** Express-style (`/api/chats/:chatId`); OpenAPI spells parameters `{chatId}`. */
  path: string;
  service: RouteService;
  auth: RouteAuth;
  tag: 'auth' | 'users' | 'blocking' | 'chats' | 'messages' | 'search' | 'assistant' | 'docs';
  summary: string;
  description?: string;
  request: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: z.ZodType;
  };
  success: Readonly<Record<number, SuccessResponse>>;
  /** Route-specific failures; `contractRoute` adds those every route of its kind may answer. */
  errors: Readonly<Record<number, ErrorResponse>>;
}

type RouteSpec = Omit<HttpRoute, 'request' | 'errors'> & {
  request?: HttpRoute['request'];
  errors?: HttpRoute['errors'];
};

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/** Merges `codes` into `errors[status]`, keeping the route's own description when it has one. */
function addError(
  errors: Record<number, ErrorResponse>,
  status: number,
  description: string,
  codes: readonly ErrorCode[],
  retryAfter = false,
): void {
  const current = errors[status];
  const adds = codes.some((code) => !current?.codes.includes(code));
  errors[status] = {
    description:
      current && adds
        ? `${current.description}; ${lowerFirst(description)}`
        : (current?.description ?? description),
    codes: [...new Set([...(current?.codes ?? []), ...codes])],
    ...(retryAfter || current?.retryAfter ? { retryAfter: true } : {}),
  };
}

/**
 * A row of the table, completed with the failures every route of its kind can answer: validation of whatever it
 * reads, the gateway's session check, CSRF and body limits on unsafe methods, and the proxy's upstream failures.
 */
function contractRoute(spec: RouteSpec): HttpRoute {
  const request = spec.request ?? {};
  const errors: Record<number, ErrorResponse> = {};
  for (const [status, error] of Object.entries(spec.errors ?? {})) errors[Number(status)] = error;
  if (request.params ?? request.query ?? request.body)
    addError(errors, 400, 'Invalid request (`validation_error`, with `details`)', ['validation_error']);
  if (spec.method !== 'get') {
    addError(errors, 400, 'Body that is not JSON or not UTF-8', ['invalid_json', 'invalid_utf8']);
    addError(errors, 403, 'Cookie-authenticated request from a foreign Origin (`csrf`)', ['csrf']);
    addError(errors, 413, 'Body larger than the limit (`payload_too_large`)', ['payload_too_large']);
    addError(errors, 415, 'Unsupported content encoding', ['unsupported_encoding']);
  }
  if (spec.auth === 'session') {
    addError(errors, 401, 'Missing, invalid, expired or revoked access token (`unauthorized`)', [
      'unauthorized',
    ]);
    addError(errors, 503, 'Sessions cannot be verified right now (`auth_unavailable`)', ['auth_unavailable']);
  }
  addError(errors, 500, 'Unexpected failure (`internal_error`, with `errorId`)', ['internal_error']);
  // Every auth and chat-api route reads or writes the store, except the published keys.
  if ((spec.service === 'chat-api' || spec.service === 'auth') && spec.operationId !== 'getJwks')
    addError(
      errors,
      503,
      'The store is briefly unreachable (`store_unavailable`)',
      ['store_unavailable'],
      true,
    );
  if (spec.service !== 'gateway') {
    addError(errors, 502, 'The service behind the route is unreachable (`upstream_unavailable`)', [
      'upstream_unavailable',
    ]);
    addError(errors, 504, 'The service behind the route did not answer in time (`upstream_timeout`)', [
      'upstream_timeout',
    ]);
  }
  return { ...spec, request, errors };
}

const userIdsUnknown = (what: string): ErrorResponse => ({
  description: `${what} (\`user_not_found\`)`,
  codes: ['user_not_found'],
});
const chatNotFound: ErrorResponse = {
  description: 'Unknown chat, or the caller is not a member (never 403)',
  codes: ['chat_not_found'],
};
const rateLimited = (what: string): ErrorResponse => ({
  description: `${what} (\`rate_limited\`, with Retry-After)`,
  codes: ['rate_limited'],
  retryAfter: true,
});
const directoryDown: ErrorResponse = {
  description: 'Sessions or the user directory cannot be checked right now (`auth_unavailable`)',
  codes: ['auth_unavailable'],
};

// Named copies (`.meta` returns a clone): the documents show these bodies as components under these names.
const named = {
  RegisterBody: registerBodySchema.meta({ id: 'RegisterBody' }),
  LoginBody: loginBodySchema.meta({ id: 'LoginBody' }),
  CreateChatBody: createChatBodySchema.meta({ id: 'CreateChatBody' }),
  AddMemberBody: addMemberBodySchema.meta({ id: 'AddMemberBody' }),
  SendMessageBody: sendMessageBodySchema.meta({ id: 'SendMessageBody' }),
  EditMessageBody: editMessageBodySchema.meta({ id: 'EditMessageBody' }),
  ReadMarkerBody: readMarkerBodySchema.meta({ id: 'ReadMarkerBody' }),
  RenameChatBody: renameChatBodySchema.meta({ id: 'RenameChatBody' }),
};

/** A document served by the gateway itself: any JSON object. */
const documentSchema = z.looseObject({}).meta({ description: 'A JSON document' });

export const HTTP_ROUTES: readonly HttpRoute[] = [
  // auth
  contractRoute({
    operationId: 'register',
    method: 'post',
    path: '/api/auth/register',
    service: 'auth',
    auth: 'public',
    tag: 'auth',
    summary: 'Create an account and start a session',
    request: { body: named.RegisterBody },
    success: {
      201: { description: 'Registered; session cookies set', body: userEnvelopeSchema, cookies: 'set' },
    },
    errors: {
      400: {
        description: 'Invalid body, or a too common password',
        codes: ['validation_error', 'weak_password'],
      },
      409: { description: 'Email already registered (`email_taken`)', codes: ['email_taken'] },
      429: rateLimited('Too many registrations or logins from this address, or too many hashes waiting'),
      503: {
        description: 'Password hashing is saturated (`busy`, with Retry-After)',
        codes: ['busy'],
        retryAfter: true,
      },
    },
  }),
  contractRoute({
    operationId: 'login',
    method: 'post',
    path: '/api/auth/login',
    service: 'auth',
    auth: 'public',
    tag: 'auth',
    summary: 'Start a session',
    request: { body: named.LoginBody },
    success: {
      200: { description: 'Logged in; session cookies set', body: userEnvelopeSchema, cookies: 'set' },
    },
    errors: {
      401: {
        description: 'Unknown email or wrong password (`invalid_credentials`, the same for both)',
        codes: ['invalid_credentials'],
      },
      429: rateLimited('Too many failed attempts for this account and address'),
      503: {
        description: 'Password hashing is saturated (`busy`, with Retry-After)',
        codes: ['busy'],
        retryAfter: true,
      },
    },
  }),
  contractRoute({
    operationId: 'refresh',
    method: 'post',
    path: '/api/auth/refresh',
    service: 'auth',
    auth: 'refresh-cookie',
    tag: 'auth',
    summary: 'Rotate the session cookies using the refresh cookie',
    description: 'Reusing an already rotated refresh token revokes the whole session.',
    success: { 200: { description: 'Cookies rotated', body: userEnvelopeSchema, cookies: 'set' } },
    errors: {
      401: {
        description: 'Missing, unknown, expired or reused refresh token (cookies cleared)',
        codes: ['invalid_refresh_token'],
      },
    },
  }),
  contractRoute({
    operationId: 'logout',
    method: 'post',
    path: '/api/auth/logout',
    service: 'auth',
    auth: 'optional-session',
    tag: 'auth',
    summary: 'End the session',
    description:
      'Works from a valid access token or from the refresh cookie alone, so an expired session can still clear its ' +
      'cookies. Afterwards the old access token is refused everywhere and the session’s sockets are disconnected.',
    success: {
      204: {
        description: 'Logged out; cookies cleared with the options they were set with',
        cookies: 'cleared',
      },
    },
  }),
  contractRoute({
    operationId: 'getMe',
    method: 'get',
    path: '/api/auth/me',
    service: 'auth',
    auth: 'session',
    tag: 'auth',
    summary: 'The current user',
    success: { 200: { description: 'The user of this session', body: userEnvelopeSchema } },
  }),
  contractRoute({
    operationId: 'getJwks',
    method: 'get',
    path: '/api/auth/jwks.json',
    service: 'auth',
    auth: 'public',
    tag: 'auth',
    summary: 'Public keys that verify access tokens',
    success: { 200: { description: 'JWKS (cacheable for 5 minutes)', body: jwksSchema } },
  }),
  // users (auth)
  contractRoute({
    operationId: 'searchUsers',
    method: 'get',
    path: '/api/users/search',
    service: 'auth',
    auth: 'session',
    tag: 'users',
    summary: 'Find users by name or email',
    description:
      'The email is shown only of users who share a chat with the caller, or when `q` is exactly their email.',
    request: { query: userSearchQuerySchema },
    success: { 200: { description: 'Matching users', body: userCardsEnvelopeSchema } },
  }),
  contractRoute({
    operationId: 'lookupUsers',
    method: 'get',
    path: '/api/users',
    service: 'auth',
    auth: 'session',
    tag: 'users',
    summary: 'Users by id (`ids` comma-separated, at most 100; unknown ids are left out)',
    request: { query: userLookupQuerySchema },
    success: { 200: { description: 'The users found, in the order asked', body: userCardsEnvelopeSchema } },
  }),
  // blocking (chat-api)
  contractRoute({
    operationId: 'listBlocked',
    method: 'get',
    path: '/api/users/blocked',
    service: 'chat-api',
    auth: 'session',
    tag: 'blocking',
    summary: 'The users I blocked, one page at a time',
    request: { query: listBlockedQuerySchema },
    success: { 200: { description: 'A page of blocked users', body: blockedPageSchema } },
    errors: {
      400: { description: 'Invalid query or cursor', codes: ['validation_error', 'invalid_cursor'] },
    },
  }),
  contractRoute({
    operationId: 'blockUser',
    method: 'put',
    path: '/api/users/:userId/block',
    service: 'chat-api',
    auth: 'session',
    tag: 'blocking',
    summary: 'Block a user (idempotent)',
    description:
      'A blocked user cannot add me to a group, open a direct chat with me or send me messages (403 `blocked`).',
    request: { params: userParamsSchema },
    success: { 204: { description: 'Blocked' } },
    errors: {
      400: {
        description: 'Invalid id, or myself (`invalid_block`)',
        codes: ['validation_error', 'invalid_block'],
      },
    },
  }),
  contractRoute({
    operationId: 'unblockUser',
    method: 'delete',
    path: '/api/users/:userId/block',
    service: 'chat-api',
    auth: 'session',
    tag: 'blocking',
    summary: 'Unblock a user (idempotent)',
    request: { params: userParamsSchema },
    success: { 204: { description: 'Not blocked (any more)' } },
  }),
  // chats (chat-api)
  contractRoute({
    operationId: 'createChat',
    method: 'post',
    path: '/api/chats',
    service: 'chat-api',
    auth: 'session',
    tag: 'chats',
    summary: 'Create a group chat, or get-or-create a direct chat',
    request: { body: named.CreateChatBody },
    success: {
      200: { description: 'The existing direct chat between the same two users', body: chatEnvelopeSchema },
      201: { description: 'Created', body: chatEnvelopeSchema },
    },
    errors: {
      400: {
        description: 'Invalid body, or a direct chat with myself',
        codes: ['validation_error', 'invalid_direct_chat'],
      },
      403: { description: 'A user named blocked me (`blocked`)', codes: ['blocked'] },
      404: userIdsUnknown('A user named does not exist'),
      429: rateLimited('Chat creation or member addition budget spent'),
      503: directoryDown,
    },
  }),
  contractRoute({
    operationId: 'listChats',
    method: 'get',
    path: '/api/chats',
    service: 'chat-api',
    auth: 'session',
    tag: 'chats',
    summary: 'My chats, newest activity first, each with its last message, unread and unread-mention counts',
    description:
      'At most `limit` per page (default 50, at most 100); pass `nextCursor` as `cursor` for the next page. ' +
      '`mentionsUnread`: the messages after my read marker that mention me (deleted ones excluded), counted up to ' +
      '100.',
    request: { query: listChatsQuerySchema },
    success: { 200: { description: 'A page of chats', body: chatPageSchema } },
    errors: {
      400: { description: 'Invalid query or cursor', codes: ['validation_error', 'invalid_cursor'] },
    },
  }),
  contractRoute({
    operationId: 'getChat',
    method: 'get',
    path: '/api/chats/:chatId',
    service: 'chat-api',
    auth: 'session',
    tag: 'chats',
    summary: 'A chat with its members',
    request: { params: chatParamsSchema },
    success: { 200: { description: 'The chat', body: chatEnvelopeSchema } },
    errors: { 404: chatNotFound },
  }),
  contractRoute({
    operationId: 'renameChat',
    method: 'patch',
    path: '/api/chats/:chatId',
    service: 'chat-api',
    auth: 'session',
    tag: 'chats',
    summary: 'Rename a group (owner only); members get `chat:changed`',
    request: { params: chatParamsSchema, body: named.RenameChatBody },
    success: { 200: { description: 'Renamed: the chat with its members', body: chatEnvelopeSchema } },
    errors: {
      400: {
        description: 'A title blank or over 100 characters after trimming',
        codes: ['validation_error'],
      },
      403: {
        description: 'Not the owner (`not_owner`), or a direct chat (`direct_chat_fixed`)',
        codes: ['not_owner', 'direct_chat_fixed'],
      },
      404: chatNotFound,
    },
  }),
  contractRoute({
    operationId: 'addMember',
    method: 'post',
    path: '/api/chats/:chatId/members',
    service: 'chat-api',
    auth: 'session',
    tag: 'chats',
    summary: 'Add a member to a group (owner only)',
    request: { params: chatParamsSchema, body: named.AddMemberBody },
    success: {
      200: { description: 'Already a member: nothing changed', body: chatEnvelopeSchema },
      201: { description: 'Added', body: chatEnvelopeSchema },
    },
    errors: {
      403: {
        description: 'Not the owner, a direct chat, or the user blocked me',
        codes: ['not_owner', 'direct_chat_fixed', 'blocked'],
      },
      404: {
        description: 'Unknown chat (or not a member), or unknown user',
        codes: ['chat_not_found', 'user_not_found'],
      },
      429: rateLimited('Member addition budget spent'),
      503: directoryDown,
    },
  }),
  contractRoute({
    operationId: 'removeMember',
    method: 'delete',
    path: '/api/chats/:chatId/members/:userId',
    service: 'chat-api',
    auth: 'session',
    tag: 'chats',
    summary: 'Remove a member (owner), or leave (self)',
    request: { params: memberParamsSchema },
    success: { 204: { description: 'Removed' } },
    errors: {
      403: { description: 'Not the owner, or a direct chat', codes: ['not_owner', 'direct_chat_fixed'] },
      404: {
        description: 'Unknown chat (or not a member), or the user is not a member',
        codes: ['chat_not_found', 'member_not_found'],
      },
    },
  }),
  // messages (chat-api)
  contractRoute({
    operationId: 'listMessages',
    method: 'get',
    path: '/api/chats/:chatId/messages',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'A page of messages, ascending by seq',
    description:
      'Without a cursor: the newest `limit` (default 50, at most 100). `before=X`: the `limit` just below X. ' +
      '`after=X`: the `limit` just above X.',
    request: { params: chatParamsSchema, query: listMessagesQuerySchema },
    success: { 200: { description: 'Messages', body: messagesEnvelopeSchema } },
    errors: { 404: chatNotFound },
  }),
  contractRoute({
    operationId: 'sendMessage',
    method: 'post',
    path: '/api/chats/:chatId/messages',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'Send a message (idempotent by clientMsgId), optionally a reply and with mentions',
    description:
      '`replyTo`: a message of the same chat (`invalid_reply` otherwise). `mentions`: at most 50 members of the ' +
      'chat (`invalid_mention` otherwise); mentioning a member who blocked me is 403 `blocked`.',
    request: { params: chatParamsSchema, body: named.SendMessageBody },
    success: {
      200: { description: 'The same clientMsgId again: the SAME message', body: messageEnvelopeSchema },
      201: { description: 'Stored', body: messageEnvelopeSchema },
    },
    errors: {
      400: {
        description: 'Invalid body, a reply to a message of another chat, or a mention of a non-member',
        codes: ['validation_error', 'invalid_reply', 'invalid_mention'],
      },
      403: {
        description: 'The other member of a direct chat, or a user mentioned, blocked me (`blocked`)',
        codes: ['blocked'],
      },
      404: chatNotFound,
      429: rateLimited('Send rate limit (at least 60 messages per 10 s are allowed)'),
      503: {
        description: 'The chat is too busy to order the message; retry',
        codes: ['sequence_contention'],
        retryAfter: true,
      },
    },
  }),
  contractRoute({
    operationId: 'editMessage',
    method: 'patch',
    path: '/api/chats/:chatId/messages/:messageId',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'Edit my message (its `version` goes up by one)',
    description: '`mentions` present replaces the message’s mentions (`[]` removes them); absent keeps them.',
    request: { params: messageParamsSchema, body: named.EditMessageBody },
    success: { 200: { description: 'Edited', body: messageEnvelopeSchema } },
    errors: {
      400: {
        description: 'Invalid body, or a mention of a non-member',
        codes: ['validation_error', 'invalid_mention'],
      },
      403: {
        description: 'Not the sender (`not_sender`), or a user mentioned blocked me (`blocked`)',
        codes: ['not_sender', 'blocked'],
      },
      404: { description: 'Unknown chat or message', codes: ['chat_not_found', 'message_not_found'] },
      409: { description: 'The message was deleted (`message_deleted`)', codes: ['message_deleted'] },
      429: rateLimited('Edit budget spent'),
    },
  }),
  contractRoute({
    operationId: 'deleteMessage',
    method: 'delete',
    path: '/api/chats/:chatId/messages/:messageId',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'Delete my message (soft: text removed, seq kept, `version` up by one)',
    request: { params: messageParamsSchema },
    success: { 204: { description: 'Deleted' } },
    errors: {
      403: { description: 'Not the sender (`not_sender`)', codes: ['not_sender'] },
      404: { description: 'Unknown chat or message', codes: ['chat_not_found', 'message_not_found'] },
    },
  }),
  contractRoute({
    operationId: 'addReaction',
    method: 'put',
    path: '/api/chats/:chatId/messages/:messageId/reactions/:emoji',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'React to a message with one emoji (idempotent); members get `chat:reactions`',
    description:
      '`emoji` is one emoji, URL-encoded, at most 32 bytes. A message carries at most 20 distinct emoji. ' +
      'Reacting again with the same emoji changes nothing.',
    request: { params: reactionParamsSchema },
    success: { 204: { description: 'I react with this emoji' } },
    errors: {
      400: {
        description: 'Not one emoji, or a 21st distinct emoji (`too_many_reactions`)',
        codes: ['validation_error', 'too_many_reactions'],
      },
      404: {
        description: 'Unknown chat (or not a member) or message',
        codes: ['chat_not_found', 'message_not_found'],
      },
      409: { description: 'The message was deleted (`message_deleted`)', codes: ['message_deleted'] },
    },
  }),
  contractRoute({
    operationId: 'removeReaction',
    method: 'delete',
    path: '/api/chats/:chatId/messages/:messageId/reactions/:emoji',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'Take back my reaction (idempotent); members get `chat:reactions`',
    request: { params: reactionParamsSchema },
    success: { 204: { description: 'I do not react with this emoji (any more)' } },
    errors: {
      400: { description: 'Not one emoji', codes: ['validation_error'] },
      404: {
        description: 'Unknown chat (or not a member) or message',
        codes: ['chat_not_found', 'message_not_found'],
      },
      409: { description: 'The message was deleted (`message_deleted`)', codes: ['message_deleted'] },
    },
  }),
  contractRoute({
    operationId: 'markRead',
    method: 'post',
    path: '/api/chats/:chatId/read',
    service: 'chat-api',
    auth: 'session',
    tag: 'messages',
    summary: 'Move my read marker (never backwards)',
    request: { params: chatParamsSchema, body: named.ReadMarkerBody },
    success: { 204: { description: 'Stored' } },
    errors: { 404: chatNotFound },
  }),
  // search
  contractRoute({
    operationId: 'searchMessages',
    method: 'get',
    path: '/api/search/messages',
    service: 'chat-api',
    auth: 'session',
    tag: 'search',
    summary: 'Word search over the messages of my chats, best matches first',
    description:
      '`q` (1–200 characters) is MongoDB text-search syntax: words (any of them), "exact phrases" (all of them) and ' +
      '-excluded words; English stemming, case and diacritics ignored. Only chats the caller is a member of are ' +
      'searched (`chatId` narrows to one of them), never deleted messages. `limit` at most 50, default 20. A ' +
      'member of more chats than the search covers gets the most recently active ones searched.',
    request: { query: searchMessagesQuerySchema },
    success: { 200: { description: 'Matches, best first', body: searchResultsSchema } },
    errors: {
      400: { description: 'Blank or over 200 characters, or not a string', codes: ['validation_error'] },
      404: chatNotFound,
      429: rateLimited('Search budget spent'),
    },
  }),
  // the assistant (DESIGN §7)
  contractRoute({
    operationId: 'getAssistant',
    method: 'get',
    path: '/api/assistant',
    service: 'assistant',
    auth: 'session',
    tag: 'assistant',
    summary: 'The assistant as a user (add it to a group by its id) and whether a model answers',
    success: { 200: { description: 'The assistant', body: assistantEnvelopeSchema } },
  }),
  contractRoute({
    operationId: 'catchUp',
    method: 'post',
    path: '/api/chats/:chatId/summary',
    service: 'assistant',
    auth: 'session',
    tag: 'assistant',
    summary: 'Catch me up: a summary of the messages after my read marker (at most 500)',
    description:
      'With a model configured, the model’s summary (charged to my daily token budget); without one, or when the ' +
      'model fails, an extractive summary computed locally (the most informative messages, quoted).',
    request: { params: chatParamsSchema },
    success: { 200: { description: 'The summary', body: chatSummaryTextSchema } },
    errors: {
      404: chatNotFound,
      429: rateLimited('Summary budget spent'),
    },
  }),
  // documents (the gateway itself)
  contractRoute({
    operationId: 'getOpenApi',
    method: 'get',
    path: '/api/openapi.json',
    service: 'gateway',
    auth: 'public',
    tag: 'docs',
    summary: 'This OpenAPI 3 document (Swagger UI at /api/docs)',
    success: { 200: { description: 'OpenAPI 3.0 document', body: documentSchema } },
  }),
  contractRoute({
    operationId: 'getAsyncApi',
    method: 'get',
    path: '/api/asyncapi.json',
    service: 'gateway',
    auth: 'public',
    tag: 'docs',
    summary: 'The AsyncAPI document of the Socket.IO contract',
    success: { 200: { description: 'AsyncAPI 2.6 document', body: documentSchema } },
  }),
];

/** `METHOD path` of a route, e.g. `POST /api/chats/:chatId/members`: how tests and docs name it. */
export const routeKey = (route: Pick<HttpRoute, 'method' | 'path'>): string =>
  `${route.method.toUpperCase()} ${route.path}`;

/** The path with `{param}` in place of `:param`, as OpenAPI writes it. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
