import type { Chat, ChatMember, ChatSummary, Message, PublicUser } from '@cohort/common';
import { z } from 'zod';

/**
 * Response shapes of the public API (DESIGN.md §2), for the OpenAPI and AsyncAPI documents. The services
 * return the TypeScript types in libs/common/contracts/domain.ts; the assertions at the bottom make
 * `tsc` fail if these schemas and those types ever disagree.
 */
const id = z.string().meta({ description: '24-character hex id', example: '665f1c2b9a1e4b3c2d1f0a9e' });
const isoDate = z.string().meta({ format: 'date-time', example: '2025-01-31T12:00:00.000Z' });

export const fullNameSchema = z
  .object({ firstName: z.string(), lastName: z.string() })
  .meta({ id: 'FullName' });

export const userSchema = z
  .object({ id, email: z.string().meta({ format: 'email' }), fullName: fullNameSchema, createdAt: isoDate })
  .meta({ id: 'User', description: 'A user as the API shows it (never a password hash)' });

export const chatMemberSchema = z
  .object({ userId: id, role: z.enum(['owner', 'member']), joinedAt: isoDate, lastReadSeq: z.number().int() })
  .meta({ id: 'ChatMember' });

export const messageSchema = z
  .object({
    id,
    chatId: id,
    seq: z.number().int().min(1).meta({ description: 'Per-chat sequence number: starts at 1, no gaps' }),
    senderId: id,
    text: z.string().meta({ description: 'Empty once deleted' }),
    clientMsgId: z.string(),
    createdAt: isoDate,
    editedAt: isoDate.optional(),
    deletedAt: isoDate.optional(),
  })
  .meta({ id: 'Message' });

export const chatSchema = z
  .object({
    id,
    type: z.enum(['group', 'direct']),
    title: z.string(),
    ownerId: id,
    members: z.array(chatMemberSchema).optional(),
    lastSeq: z.number().int().min(0),
    createdAt: isoDate,
    lastMessageAt: isoDate.nullable(),
  })
  .meta({ id: 'Chat' });

export const chatSummarySchema = chatSchema
  .extend({ lastMessage: messageSchema.nullable(), unread: z.number().int().min(0) })
  .meta({ id: 'ChatSummary', description: 'An entry of GET /api/chats' });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'snake_case, stable', example: 'validation_error' }),
      message: z.string(),
      errorId: z.string().optional().meta({ description: 'Present on 500s; the same id is in the logs' }),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const userEnvelope = z.object({ user: userSchema });
export const usersEnvelope = z.object({
  users: z.array(userSchema.pick({ id: true, fullName: true, email: true })),
});
export const chatEnvelope = z.object({ chat: chatSchema });
export const chatsEnvelope = z.object({ chats: z.array(chatSummarySchema) });
export const messageEnvelope = z.object({ message: messageSchema });
export const messagesEnvelope = z.object({ messages: z.array(messageSchema) });
export const jwksSchema = z
  .object({
    keys: z.array(
      z
        .object({ kty: z.string(), kid: z.string(), alg: z.string().optional(), use: z.string().optional() })
        .loose(),
    ),
  })
  .meta({ id: 'JWKS', description: 'RFC 7517 key set: the public keys that verify access tokens' });

// Compile-time drift checks: each schema's output must be the domain type, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const assertSame = <T extends true>(): T | undefined => undefined;
assertSame<Same<z.infer<typeof userSchema>, PublicUser>>();
assertSame<Same<z.infer<typeof chatMemberSchema>, ChatMember>>();
assertSame<Same<z.infer<typeof messageSchema>, Message>>();
assertSame<Same<z.infer<typeof chatSchema>, Chat>>();
assertSame<Same<z.infer<typeof chatSummarySchema>, ChatSummary>>();
