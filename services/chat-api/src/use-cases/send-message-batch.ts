import { randomUUID } from 'node:crypto';
import {
  AppError,
  chatParamsSchema,
  isStoreUnavailableError,
  parseOrThrow,
  sendMessageBodySchema,
  storeUnavailable,
  type IdentityVerifier,
  type MessageBatchEntry,
  type MessageBatchResult,
} from '@cohort/common';
import type { UseCaseDeps } from './deps';
import { sendMessage } from './send-message';

/**
 * POST /internal/message-batches: each entry is one `sendMessage`, under the identity it carries, answered
 * with the status and body the single-send route would give. Entries run concurrently: the membership cache,
 * Redis auto-pipelining and the sequencer's per-chat lanes then serve a whole batch in a few round trips.
 */
export async function sendMessageBatch(
  deps: UseCaseDeps,
  verifyIdentity: IdentityVerifier,
  entries: readonly MessageBatchEntry[],
): Promise<MessageBatchResult[]> {
  return Promise.all(
    entries.map(async (entry): Promise<MessageBatchResult> => {
      try {
        const { userId } = await verifyIdentity(entry.identity);
        const { chatId } = parseOrThrow(chatParamsSchema, { chatId: entry.chatId });
        const body = parseOrThrow(sendMessageBodySchema, {
          text: entry.text,
          clientMsgId: entry.clientMsgId,
          replyTo: entry.replyTo,
          mentions: entry.mentions,
        });
        const caller = { userId, assertion: entry.identity, requestId: entry.requestId };
        const { message, created } = await sendMessage(deps, caller, chatId, body);
        return { status: created ? 201 : 200, message };
      } catch (err) {
        // A store outage is a retryable 503 for the socket ack too, never an internal_error.
        const known =
          err instanceof AppError ? err : isStoreUnavailableError(err) ? storeUnavailable() : null;
        if (known) return { status: known.status, error: { code: known.code, message: known.message } };
        const errorId = randomUUID();
        deps.logger.error({ err, errorId, requestId: entry.requestId }, 'unhandled error in a batched send');
        return { status: 500, error: { code: 'internal_error', message: 'Internal server error', errorId } };
      }
    }),
  );
}
