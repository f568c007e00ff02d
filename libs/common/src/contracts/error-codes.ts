import { z } from 'zod';

/**
 * Every `error.code` the public API answers with (HTTP `{error:{code,message}}` bodies and socket acks
 * `{ok:false, error:{code,message}}`), with the statuses it comes with. The route table (http-routes.ts) names
 * the codes each route may answer; docs/errors.md is generated from this list.
 */
export const ERROR_CODES = {
  validation_error: {
    statuses: [400],
    meaning: 'A body, query, path parameter or socket payload failed validation; `details` lists the issues.',
  },
  invalid_json: { statuses: [400], meaning: 'The request body is not valid JSON.' },
  invalid_utf8: { statuses: [400], meaning: 'The request body is not valid UTF-8.' },
  invalid_path: { statuses: [400], meaning: 'The path holds `.`/`..` segments or backslashes.' },
  invalid_cursor: { statuses: [400], meaning: '`cursor` is not a `nextCursor` a previous page gave.' },
  invalid_direct_chat: { statuses: [400], meaning: 'A direct chat needs another user than the caller.' },
  invalid_block: { statuses: [400], meaning: 'A user cannot block themselves.' },
  invalid_reply: {
    statuses: [400],
    meaning: '`replyTo` is not the id of a message of this chat.',
  },
  invalid_mention: {
    statuses: [400],
    meaning: 'A mentioned user is not a member of the chat (`details.userIds`).',
  },
  too_many_reactions: {
    statuses: [400],
    meaning: 'The message already carries 20 distinct emoji: only those can be added.',
  },
  weak_password: { statuses: [400], meaning: 'The password is on the list of too common passwords.' },
  bad_request: { statuses: [400], meaning: 'Any other malformed request.' },
  stream_not_found: {
    statuses: [404],
    meaning:
      'Socket `ai:resume`/`ai:stop`: no assistant stream of that id in that chat (expired, or never one the caller may see).',
  },
  unauthorized: {
    statuses: [401],
    meaning: 'Missing, invalid, expired or revoked access token (or forwarded identity).',
  },
  invalid_credentials: {
    statuses: [401],
    meaning: 'Unknown email or wrong password (the same answer for both).',
  },
  invalid_refresh_token: {
    statuses: [401],
    meaning: 'Missing, unknown, expired or reused refresh token; the cookies are cleared.',
  },
  csrf: {
    statuses: [403],
    meaning: 'An unsafe cookie-authenticated request from an Origin that is not allowed.',
  },
  forbidden: { statuses: [403], meaning: 'The caller may not do this.' },
  not_owner: { statuses: [403], meaning: 'Only the chat owner may add or remove other members.' },
  not_sender: { statuses: [403], meaning: 'Only the sender may edit or delete a message.' },
  direct_chat_fixed: {
    statuses: [403],
    meaning: 'The members (and the title) of a direct chat cannot change.',
  },
  blocked: {
    statuses: [403],
    meaning:
      'The other user blocked the caller (no direct chat, no group addition, no message, no mention of them).',
  },
  not_found: { statuses: [404], meaning: 'No such route (unknown `/api/*` path).' },
  chat_not_found: {
    statuses: [404],
    meaning: 'No such chat, or the caller is not a member (never 403: existence is not revealed).',
  },
  message_not_found: { statuses: [404], meaning: 'No such message in this chat.' },
  user_not_found: {
    statuses: [404],
    meaning: 'A user named in the request does not exist (`details.userIds`).',
  },
  member_not_found: { statuses: [404], meaning: 'The user is not a member of this chat.' },
  email_taken: { statuses: [409], meaning: 'An account with this email (case-insensitive) exists.' },
  message_deleted: {
    statuses: [409],
    meaning: 'The message was deleted and cannot be edited or reacted to.',
  },
  payload_too_large: {
    statuses: [413],
    meaning: 'The request body is larger than the limit (64 KB by default).',
  },
  unsupported_encoding: {
    statuses: [415],
    meaning: 'The request body has a content encoding the service does not accept.',
  },
  rate_limited: {
    statuses: [429],
    meaning: 'A per-user, per-account or per-address limit was reached; see `Retry-After`.',
  },
  internal_error: {
    statuses: [500],
    meaning: 'An unexpected failure; `errorId` is the id logged with the stack.',
  },
  upstream_unavailable: {
    statuses: [502],
    meaning: 'The gateway could not reach the service behind the route.',
  },
  unavailable: {
    statuses: [502, 503],
    meaning: 'A service this one depends on failed or is unreachable (socket acks and the handshake).',
  },
  auth_unavailable: {
    statuses: [503],
    meaning: 'Sessions or the user directory cannot be checked right now.',
  },
  busy: { statuses: [503], meaning: 'Password hashing is saturated; retry after `Retry-After`.' },
  sequence_contention: {
    statuses: [503],
    meaning: 'The chat is too busy to order the message right now; retry the send.',
  },
  store_unavailable: {
    statuses: [503],
    meaning: 'The store is briefly unreachable; retry after `Retry-After`.',
  },
  upstream_timeout: { statuses: [504], meaning: 'The service behind the route did not answer in time.' },
  timeout: {
    statuses: [504],
    meaning: 'A service this one depends on did not answer in time (socket acks).',
  },
  unknown_event: { statuses: [], meaning: 'A socket event that is not part of the contract (ack only).' },
} as const satisfies Record<string, { statuses: readonly number[]; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

const errorCodeValues = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** `{error:{code,message}}`: the body of every failed HTTP request. `errorId` is set on 500s. */
export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z
        .string()
        .regex(/^[a-z][a-z0-9_]*$/)
        .meta({ description: 'snake_case, stable', example: 'validation_error' }),
      message: z.string(),
      errorId: z.string().optional().meta({ description: 'Present on 500s; the same id is in the logs' }),
      details: z.unknown().optional().meta({ description: 'Validation issues (400 `validation_error`)' }),
    }),
  })
  .meta({ id: 'Error' });

/** The `error.code` values of the catalogue, as a zod enum (for documents that list them). */
export const errorCodeSchema = z.enum(errorCodeValues);
