import { z } from 'zod';
import type {
  AssistantInfo,
  ChatSummaryText,
  MessageAi,
  SearchResult,
  BlockedUser,
  Chat,
  ChatMember,
  ChatPage,
  ChatSummary,
  FullName,
  Message,
  PublicUser,
  ReactionSummary,
} from './domain';
import { assertSame, type Same } from './same-type';

/**
 * Response shapes of the public API (docs/http-api.md) as zod: the route table (http-routes.ts), the socket and bus
 * tables and the generated OpenAPI/AsyncAPI documents use them, and the conformance test parses live answers
 * with them. Objects are strict so a field the contract does not name is caught. The interfaces in domain.ts
 * stay what the services return; the assertions at the bottom make `tsc` fail if the two ever disagree.
 */
export const responseIdSchema = z
  .string()
  .regex(/^[0-9a-f]{24}$/)
  .meta({ description: '24-character hex id', example: '665f1c2b9a1e4b3c2d1f0a9e' });
const id = responseIdSchema;
const isoDate = z.iso.datetime().meta({ example: '2025-01-31T12:00:00.000Z' });

export const fullNameSchema = z
  .strictObject({ firstName: z.string(), lastName: z.string() })
  .meta({ id: 'FullName' });

export const userSchema = z
  .strictObject({
    id,
    email: z.string().meta({ format: 'email' }),
    fullName: fullNameSchema,
    createdAt: isoDate,
  })
  .meta({ id: 'User', description: 'A user as the API shows it (never a password hash)' });

/** An entry of `GET /api/users/search` and `GET /api/users?ids=`: the email only where the caller may see it. */
export const userCardSchema = z
  .strictObject({
    id,
    fullName: fullNameSchema,
    email: z
      .string()
      .meta({
        format: 'email',
        description: 'Only of users sharing a chat with the caller, an exact-email search, or the caller',
      })
      .optional(),
  })
  .meta({ id: 'UserCard' });

export const chatMemberSchema = z
  .strictObject({
    userId: id,
    role: z.enum(['owner', 'member']),
    joinedAt: isoDate,
    lastReadSeq: z.number().int().min(0),
  })
  .meta({ id: 'ChatMember' });

export const reactionSummarySchema = z
  .strictObject({
    emoji: z.string().meta({ example: '👍' }),
    count: z.number().int().min(1).meta({ description: 'How many users reacted with this emoji' }),
    userIds: z.array(id).max(10).meta({ description: 'The first (up to) 10 users who reacted' }),
  })
  .meta({ id: 'ReactionSummary' });

export const messageAiSchema = z
  .strictObject({
    streamId: z.string().meta({ description: 'The `ai:delta` stream this answer was generated as' }),
    status: z.enum(['done', 'stopped', 'failed']),
    model: z.string().meta({ description: 'The model that answered (empty when none is configured)' }),
    usage: z
      .strictObject({
        promptTokens: z.number().int().min(0),
        completionTokens: z.number().int().min(0),
      })
      .optional(),
    error: z
      .strictObject({
        code: z.enum([
          'ai_not_configured',
          'ai_provider_unavailable',
          'ai_budget_exceeded',
          'ai_timeout',
          'ai_interrupted',
        ]),
        message: z.string(),
      })
      .optional(),
  })
  .meta({ id: 'MessageAi', description: 'On the assistant’s answers: the stream and how it ended' });

export const messageSchema = z
  .strictObject({
    id,
    chatId: id,
    seq: z.number().int().min(1).meta({ description: 'Per-chat sequence number: starts at 1, no gaps' }),
    senderId: id,
    text: z.string().meta({ description: 'Empty once deleted' }),
    clientMsgId: z.string(),
    createdAt: isoDate,
    editedAt: isoDate.optional(),
    deletedAt: isoDate.optional(),
    version: z
      .number()
      .int()
      .min(1)
      .meta({ description: '1 when stored, +1 on each edit and on the delete' }),
    replyTo: id.optional().meta({ description: 'The message (same chat) this one replies to' }),
    mentions: z.array(id).max(50).optional().meta({ description: 'Users mentioned; absent when none' }),
    reactions: z
      .array(reactionSummarySchema)
      .max(20)
      .optional()
      .meta({ description: 'By emoji, in the order each was first used; absent when none' }),
    reactionsVersion: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: '+1 on each reaction change: keep the summary with the highest' }),
    ai: messageAiSchema.optional().meta({ description: 'Present on the assistant’s answers only' }),
  })
  .meta({ id: 'Message' });

export const chatSchema = z
  .strictObject({
    id,
    type: z.enum(['group', 'direct', 'assistant']),
    title: z.string(),
    ownerId: id,
    members: z.array(chatMemberSchema).optional(),
    lastSeq: z.number().int().min(0),
    createdAt: isoDate,
    lastMessageAt: isoDate.nullable(),
  })
  .meta({ id: 'Chat' });

export const chatSummarySchema = chatSchema
  .extend({
    lastMessage: messageSchema.nullable(),
    unread: z.number().int().min(0),
    mentionsUnread: z.number().int().min(0).meta({
      description: 'Messages after my read marker that mention me (deleted ones excluded), counted up to 100',
    }),
  })
  .meta({ id: 'ChatSummary', description: 'An entry of GET /api/chats' });

export const blockedUserSchema = z
  .strictObject({ id, blockedAt: isoDate })
  .meta({ id: 'BlockedUser', description: 'An entry of GET /api/users/blocked' });

const nextCursor = z
  .string()
  .nullable()
  .meta({ description: 'Pass as `cursor` for the next page; null on the last page' });

export const userEnvelopeSchema = z.strictObject({ user: userSchema });
export const userCardsEnvelopeSchema = z.strictObject({ users: z.array(userCardSchema) });
export const chatEnvelopeSchema = z.strictObject({ chat: chatSchema });
export const chatPageSchema = z
  .strictObject({ chats: z.array(chatSummarySchema), nextCursor })
  .meta({ id: 'ChatPage' });
export const blockedPageSchema = z
  .strictObject({ users: z.array(blockedUserSchema), nextCursor })
  .meta({ id: 'BlockedPage' });
export const messageEnvelopeSchema = z.strictObject({ message: messageSchema });
export const messagesEnvelopeSchema = z.strictObject({ messages: z.array(messageSchema) });
export const assistantEnvelopeSchema = z.strictObject({
  assistant: z
    .strictObject({
      id,
      fullName: fullNameSchema,
      enabled: z.boolean().meta({ description: 'false when no model is configured' }),
      model: z.string().nullable(),
    })
    .meta({ id: 'Assistant' }),
});
export const chatSummaryTextSchema = z
  .strictObject({
    summary: z.string(),
    fromSeq: z.number().int().min(0),
    toSeq: z.number().int().min(0),
  })
  .meta({ id: 'CatchUp', description: 'A summary of the messages after my read marker (at most 500)' });
export const searchResultsSchema = z.strictObject({
  results: z.array(
    z.strictObject({ message: messageSchema, chatId: id, score: z.number() }).meta({ id: 'SearchResult' }),
  ),
});

export const jwksSchema = z
  .strictObject({
    keys: z
      .array(
        z.looseObject({
          kty: z.string(),
          kid: z.string(),
          alg: z.string().optional(),
          use: z.string().optional(),
        }),
      )
      .min(1),
  })
  .meta({ id: 'JWKS', description: 'RFC 7517 key set: the public keys that verify access tokens' });

// Compile-time drift checks: each schema's output must be the domain type, both ways.
assertSame<Same<z.infer<typeof fullNameSchema>, FullName>>();
assertSame<Same<z.infer<typeof userSchema>, PublicUser>>();
assertSame<Same<z.infer<typeof chatMemberSchema>, ChatMember>>();
assertSame<Same<z.infer<typeof reactionSummarySchema>, ReactionSummary>>();
assertSame<Same<z.infer<typeof messageSchema>, Message>>();
assertSame<Same<z.infer<typeof chatSchema>, Chat>>();
assertSame<Same<z.infer<typeof chatSummarySchema>, ChatSummary>>();
assertSame<Same<z.infer<typeof chatPageSchema>, ChatPage>>();
assertSame<Same<z.infer<typeof blockedUserSchema>, BlockedUser>>();
assertSame<Same<z.infer<typeof messageAiSchema>, MessageAi>>();
assertSame<Same<z.infer<typeof assistantEnvelopeSchema>['assistant'], AssistantInfo>>();
assertSame<Same<z.infer<typeof chatSummaryTextSchema>, ChatSummaryText>>();
assertSame<Same<z.infer<typeof searchResultsSchema>['results'][number], SearchResult>>();
