import { z } from 'zod';
import { textString } from './text';
import { EMOJI_MAX_BYTES, isSingleEmoji } from './emoji';

/**
 * Request schemas of the public HTTP API. The services validate with these and the gateway
 * generates OpenAPI from them, so the documentation cannot drift from what is enforced.
 * Every string field is `textString()` (a `z.string()`): an operator object such as `{"$gt":""}` fails
 * validation, and so does a lone surrogate or NUL (docs/security.md).
 */

/** 24-hex MongoDB ObjectId as a string. */
export const objectIdSchema = textString().regex(/^[0-9a-fA-F]{24}$/, 'must be a 24-character hex id');

export const emailSchema = textString()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'must be a valid email address' }));

/** 8–72 bytes: bcrypt reads at most 72 bytes, so longer is refused, never silently truncated. */
export const passwordSchema = textString()
  .refine((p) => Buffer.byteLength(p, 'utf8') >= 8, 'must be at least 8 bytes')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= 72, 'must be at most 72 bytes (bcrypt limit)');

const nameSchema = textString().trim().min(1).max(100);

export const registerBodySchema = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  fullName: z.strictObject({ firstName: nameSchema, lastName: nameSchema }),
});

export const loginBodySchema = z.strictObject({
  email: emailSchema,
  // Not passwordSchema: a login with a password over 72 bytes is the generic 401, not a hint (use-cases/login.ts).
  password: textString().min(1).max(1024),
});

export const userSearchQuerySchema = z.object({
  q: textString().trim().min(2, 'must be at least 2 characters').max(100),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

export const USER_LOOKUP_MAX_IDS = 100;

/** `GET /api/users?ids=a,b,c`: up to 100 comma-separated ids (chat-api checks members exist; clients resolve names). */
export const userLookupQuerySchema = z.object({
  ids: textString()
    .max(USER_LOOKUP_MAX_IDS * 25)
    .transform((raw) =>
      raw
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id.length > 0),
    )
    .pipe(
      z
        .array(objectIdSchema)
        .min(1, 'at least one id')
        .max(USER_LOOKUP_MAX_IDS, `at most ${USER_LOOKUP_MAX_IDS} ids`),
    ),
});

export const createChatBodySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('group'),
    title: textString().trim().min(1).max(120),
    memberIds: z.array(objectIdSchema).max(500).optional(),
  }),
  z.strictObject({ type: z.literal('direct'), userId: objectIdSchema }),
  /** A new personal chat with the assistant (each call makes a new one, like "New chat"). */
  z.strictObject({
    type: z.literal('assistant'),
    title: textString().trim().min(1).max(120).optional(),
  }),
]);

export const addMemberBodySchema = z.strictObject({ userId: objectIdSchema });

export const MESSAGE_MAX_LENGTH = 4000;
export const PAGE_LIMIT_MAX = 100;
export const PAGE_LIMIT_DEFAULT = 50;

export const messageTextSchema = textString().trim().min(1, 'must not be blank').max(MESSAGE_MAX_LENGTH);
export const clientMsgIdSchema = textString()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_:.-]+$/, 'letters, digits and _ : . - only');

/** At most this many users mentioned by one message (docs/http-api.md §Conversations). */
export const MENTIONS_MAX = 50;
/** `mentions`: user ids, each a member of the chat who has not blocked the sender (checked by chat-api). */
export const mentionsSchema = z
  .array(objectIdSchema)
  .max(MENTIONS_MAX, `at most ${MENTIONS_MAX} mentions`)
  .meta({ description: 'Users mentioned: members of the chat, at most 50 (duplicates count once)' });
/** `replyTo`: the id of a message of the same chat. */
export const replyToSchema = objectIdSchema.meta({ description: 'The id of a message of the same chat' });

export const sendMessageBodySchema = z.strictObject({
  text: messageTextSchema,
  clientMsgId: clientMsgIdSchema,
  replyTo: replyToSchema.optional(),
  mentions: mentionsSchema.optional(),
});
/** `mentions` absent: the message's mentions stay; present: they are replaced (`[]` removes them all). */
export const editMessageBodySchema = z.strictObject({
  text: messageTextSchema,
  mentions: mentionsSchema.optional(),
});

export const CHAT_TITLE_MAX_LENGTH = 100;
/** `PATCH /api/chats/:chatId`: a group's new title, 1–100 characters after trimming. */
export const renameChatBodySchema = z.strictObject({
  title: textString().trim().min(1, 'must not be blank').max(CHAT_TITLE_MAX_LENGTH),
});

const seqParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const listMessagesQuerySchema = z
  .object({
    before: seqParam.optional(),
    after: seqParam.optional(),
    limit: z.coerce.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  })
  .refine((q) => q.before === undefined || q.after === undefined, 'use either before or after, not both');

export const readMarkerBodySchema = z.strictObject({ seq: z.number().int().min(0) });

/** An opaque page cursor exactly as a previous page's `nextCursor` gave it (base64url). */
export const pageCursorSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a nextCursor from a previous page');

/** `GET /api/chats?limit=N&cursor=C`: pages of the caller's chats, newest activity first. */
export const listChatsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT),
  cursor: pageCursorSchema.optional(),
});

/** `GET /api/users/blocked?limit=N&cursor=C`: the users the caller blocked. */
export const listBlockedQuerySchema = listChatsQuerySchema;

/** `PUT|DELETE /api/users/:userId/block`. */
export const userParamsSchema = z.object({ userId: objectIdSchema });

export const chatParamsSchema = z.object({ chatId: objectIdSchema });
export const memberParamsSchema = z.object({ chatId: objectIdSchema, userId: objectIdSchema });
export const messageParamsSchema = z.object({ chatId: objectIdSchema, messageId: objectIdSchema });

/** At most this many distinct emoji on one message. */
export const REACTIONS_MAX_DISTINCT = 20;
/** One emoji (URL-encoded in the path), at most 32 UTF-8 bytes. */
export const emojiSchema = textString()
  .refine((e) => Buffer.byteLength(e, 'utf8') <= EMOJI_MAX_BYTES, `must be at most ${EMOJI_MAX_BYTES} bytes`)
  .refine(isSingleEmoji, 'must be exactly one emoji')
  .meta({ description: 'One emoji, URL-encoded (at most 32 UTF-8 bytes)', example: '👍' });
/** `PUT|DELETE /api/chats/:chatId/messages/:messageId/reactions/:emoji`. */
export const reactionParamsSchema = z.object({
  chatId: objectIdSchema,
  messageId: objectIdSchema,
  emoji: emojiSchema,
});

export const SEARCH_QUERY_MAX_LENGTH = 200;
export const SEARCH_LIMIT_MAX = 50;
/**
 * `GET /api/search/messages?q=&chatId=&limit=`: MongoDB `$text` syntax (words, "phrases", -negation) over the
 * caller's chats; `chatId` narrows it to one of them.
 */
export const searchMessagesQuerySchema = z.object({
  q: textString().trim().min(1, 'must not be blank').max(SEARCH_QUERY_MAX_LENGTH),
  chatId: objectIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(SEARCH_LIMIT_MAX).default(20),
});

/** An assistant stream's id (the assistant makes them: 8–64 URL-safe characters). */
export const streamIdSchema = textString().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be a stream id');

export type RegisterBody = z.infer<typeof registerBodySchema>;
export type LoginBody = z.infer<typeof loginBodySchema>;
export type CreateChatBody = z.infer<typeof createChatBodySchema>;
export type SendMessageBody = z.infer<typeof sendMessageBodySchema>;
export type EditMessageBody = z.infer<typeof editMessageBodySchema>;
export type RenameChatBody = z.infer<typeof renameChatBodySchema>;
export type ListMessagesQuery = z.infer<typeof listMessagesQuerySchema>;
export type ListChatsQuery = z.infer<typeof listChatsQuerySchema>;
export type ListBlockedQuery = z.infer<typeof listBlockedQuerySchema>;
export type SearchMessagesQuery = z.infer<typeof searchMessagesQuerySchema>;
