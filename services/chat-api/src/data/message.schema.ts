import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { MessageAi } from '@cohort/common';

export interface MessageRecord {
  _id: Types.ObjectId;
  chatId: Types.ObjectId;
  seq: number;
  senderId: string;
  text: string;
  clientMsgId: string;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  /**
   * 1 at insert, +1 with each edit and the delete, in the same findOneAndUpdate as the change (docs/security.md).
   * Absent on messages stored before versions existed: they read as 1.
   */
  version?: number;
  /** The message of the same chat this one replies to (checked at send: message-references.ts). */
  replyTo?: Types.ObjectId | null;
  /** User ids mentioned, deduplicated; absent or empty when none. Cleared by the delete. */
  mentions?: string[];
  /**
   * One entry per emoji, in first-use order, holding every user who reacted with it. Changed only by single
   * atomic updates ($push of a new entry guarded by "not there yet and fewer than 20", $addToSet/$pull of a user
   * in an entry), never read-modify-write, so concurrent reactions from many users never lose one.
   */
  reactions?: ReactionRecord[];
  /** +1 in the same update as each reaction change: orders `chat:reactions` summaries for clients. */
  reactionsVersion?: number;
  /** The assistant's answers only: the stream it was generated as and how it ended (DESIGN §7). */
  ai?: MessageAi;
}

export interface ReactionRecord {
  emoji: string;
  userIds: string[];
}

export const MESSAGE_SEQ_INDEX = 'chat_seq_unique';
export const MESSAGE_CLIENT_ID_INDEX = 'chat_sender_client_msg_unique';
export const MESSAGE_MENTIONS_INDEX = 'chat_mentions_seq';

export const messageSchema = new Schema<MessageRecord>(
  {
    chatId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true, min: 1 },
    senderId: { type: String, required: true },
    text: { type: String, default: '' },
    clientMsgId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    editedAt: { type: Date, default: null },
    deletedAt: { type: Date, default: null },
    version: { type: Number, min: 1 },
    replyTo: { type: Schema.Types.ObjectId, default: undefined },
    mentions: { type: [String], default: undefined },
    reactions: {
      type: [new Schema<ReactionRecord>({ emoji: String, userIds: [String] }, { _id: false })],
      default: undefined,
    },
    reactionsVersion: { type: Number, min: 1 },
    // Written once with the answer and never queried: kept as the plain object the assistant sent.
    ai: { type: Schema.Types.Mixed, default: undefined },
  },
  { collection: 'messages', versionKey: false },
);

// Pages (newest / before=X / after=X, forwards or backwards on this index), the chat list's lastMessage
// lookups and the sequencer's max-seq probe. Unique: two messages can never share a seq in a chat.
messageSchema.index({ chatId: 1, seq: 1 }, { unique: true, name: MESSAGE_SEQ_INDEX });
// Idempotent send: the lookup of a retried clientMsgId; unique, so concurrent retries store one message.
messageSchema.index(
  { chatId: 1, senderId: 1, clientMsgId: 1 },
  { unique: true, name: MESSAGE_CLIENT_ID_INDEX },
);

// GET /api/chats' mentionsUnread: for one chat and one user, the mentions after a read marker are one range of
// this (multikey) index, counted with a cap (list-chats.ts). Messages without mentions index as null, never scanned.
messageSchema.index({ chatId: 1, mentions: 1, seq: 1 }, { name: MESSAGE_MENTIONS_INDEX });

// GET /api/search/messages and the assistant's lexical memory: `$text` over message text, English stemming, scored
// (DESIGN §8). The search's scope (chatId $in, deletedAt null) is part of the same query.
export const MESSAGE_TEXT_INDEX = 'message_text';
messageSchema.index({ text: 'text' }, { name: MESSAGE_TEXT_INDEX, default_language: 'english' });

export type MessageModel = Model<MessageRecord>;

export function messageModel(connection: Connection): MessageModel {
  return (
    (connection.models.Message as MessageModel | undefined) ??
    connection.model<MessageRecord>('Message', messageSchema)
  );
}
