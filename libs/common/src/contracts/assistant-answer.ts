import { z } from 'zod';
import { clientMsgIdSchema, objectIdSchema } from './http-schemas';
import { messageAiSchema } from './responses';
import { textString } from './text';

/** An answer may be longer than a user's message (4,000 characters), within reason. */
export const ANSWER_MAX_LENGTH = 16_000;

/**
 * `POST /internal/chats/:chatId/answers` (never routed by the gateway): the assistant stores an answer, as the
 * assistant user, with its own forwarding key. Idempotent on `clientMsgId` (derived from the trigger). 201/200
 * `{message}`.
 */
export const storeAnswerBodySchema = z.strictObject({
  text: textString().min(1).max(ANSWER_MAX_LENGTH),
  clientMsgId: clientMsgIdSchema,
  replyTo: objectIdSchema,
  ai: messageAiSchema,
});
export type StoreAnswerBody = z.infer<typeof storeAnswerBodySchema>;

/** The forwarder name (`iss`) the assistant signs its identities with. */
export const ASSISTANT_FORWARDER = 'assistant';
