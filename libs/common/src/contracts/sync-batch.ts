import { z } from 'zod';
import { forwardedEntryShape, type BatchEntryError } from './batch-entry';
import type { Message } from './domain';

/**
 * `POST /internal/sync-batches`: realtime hands chat-api the `chat:sync` calls of many sockets in one request
 * rather than one `GET /api/chats/:chatId/messages?after=&limit=` each (never routed by the gateway). Every entry
 * carries its own user's forwarded identity (the `x-cohort-identity` value) and request id, and is authorized,
 * validated and answered on its own, exactly as that GET would answer it: one entry's refusal never fails the others.
 */
export const SYNC_BATCH_MAX = 100;

/** Only the envelope is checked here; each entry's chatId, afterSeq and limit are validated as the GET's. */
export const syncBatchBodySchema = z.strictObject({
  syncs: z
    .array(
      z.strictObject({
        ...forwardedEntryShape,
        chatId: z.string(),
        afterSeq: z.number(),
        limit: z.number(),
      }),
    )
    .min(1)
    .max(SYNC_BATCH_MAX),
});
export type SyncBatchBody = z.infer<typeof syncBatchBodySchema>;
export type SyncBatchEntry = SyncBatchBody['syncs'][number];

/** One answer per entry, in entry order: the status and body `GET /api/chats/:chatId/messages` would give. */
export type SyncBatchResult = { status: 200; messages: Message[] } | BatchEntryError;
