import { z } from 'zod';
import { forwardedEntryShape, type BatchEntryError } from './batch-entry';
import type { Message } from './domain';

/**
 * `POST /internal/message-batches`: realtime hands chat-api the sends of many sockets in one request rather
 * than one request each (never routed by the gateway). Every entry carries its own user's forwarded identity
 * (the `x-cohort-identity` value) and request id, and is authorized, validated and answered on its own, exactly
 * as `POST /api/chats/:chatId/messages` would: one entry's refusal never fails the others.
 */
export const MESSAGE_BATCH_MAX = 100;

/** Only the envelope is checked here; each entry's chatId, text, clientMsgId, replyTo and mentions are validated as a single send. */
export const messageBatchBodySchema = z.strictObject({
  sends: z
    .array(
      z.strictObject({
        ...forwardedEntryShape,
        chatId: z.string(),
        text: z.string(),
        clientMsgId: z.string(),
        replyTo: z.string().optional(),
        mentions: z.array(z.string()).optional(),
      }),
    )
    .min(1)
    .max(MESSAGE_BATCH_MAX),
});
export type MessageBatchBody = z.infer<typeof messageBatchBodySchema>;
export type MessageBatchEntry = MessageBatchBody['sends'][number];

/** One answer per entry, in entry order: the status and body `POST /api/chats/:chatId/messages` would give. */
export type MessageBatchResult = { status: 200 | 201; message: Message } | BatchEntryError;
