import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { ChatType } from '@cohort/common';

export interface ChatRecord {
  _id: Types.ObjectId;
  type: ChatType;
  title: string;
  ownerId: string;
  /**
   * Highest seq stored in this chat, raised with `$max` after each insert. The messages themselves are the
   * source of truth for seq assignment (see message-sequencer.ts); this copy serves the chat list and unread.
   */
  lastSeq: number;
  createdAt: Date;
  lastMessageAt: Date | null;
}

// Every chat query is by _id (the member-only routes after their membership check, the chat list by `$in`
// on the caller's chat ids, find-or-create of a direct chat by its pair-derived _id): no secondary index.
export const chatSchema = new Schema<ChatRecord>(
  {
    type: { type: String, enum: ['group', 'direct', 'assistant'], required: true },
    title: { type: String, default: '' },
    ownerId: { type: String, required: true },
    lastSeq: { type: Number, default: 0, min: 0 },
    createdAt: { type: Date, required: true },
    lastMessageAt: { type: Date, default: null },
  },
  { collection: 'chats', versionKey: false },
);

export type ChatModel = Model<ChatRecord>;

export function chatModel(connection: Connection): ChatModel {
  return (
    (connection.models.Chat as ChatModel | undefined) ?? connection.model<ChatRecord>('Chat', chatSchema)
  );
}
