import {
  chatParamsSchema,
  parseOrThrow,
  sendMessageBodySchema,
  type IdentityVerifier,
  type MessageBatchEntry,
  type MessageBatchResult,
} from '@cohort/common';
import { batchEntryRefusal } from './batch-entry-refusal';
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
        return batchEntryRefusal(deps.logger, err, 'a batched send', { requestId: entry.requestId });
      }
    }),
  );
}
