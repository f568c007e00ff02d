import { z } from 'zod';

/**
 * chat-api's message shape (docs/http-api.md), checked before a message is handed to clients: in chat-api's
 * answers (chat-api.client.ts) and before a bus event is brought into the recent messages kept here
 * (sync/recent-messages.ts). Loose: fields added later pass through.
 */
export const storedMessageSchema = z.looseObject({
  id: z.string(),
  chatId: z.string(),
  seq: z.number(),
  senderId: z.string(),
  text: z.string(),
  clientMsgId: z.string(),
  createdAt: z.string(),
  editedAt: z.string().optional(),
  deletedAt: z.string().optional(),
  version: z.number(),
});
