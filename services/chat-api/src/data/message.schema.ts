import { Schema, type Connection, type Model, type Types } from 'mongoose';

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
}

export const MESSAGE_SEQ_INDEX = 'chat_seq_unique';
export const MESSAGE_CLIENT_ID_INDEX = 'chat_sender_client_msg_unique';

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

export type MessageModel = Model<MessageRecord>;

export function messageModel(connection: Connection): MessageModel {
  return (
    (connection.models.Message as MessageModel | undefined) ??
    connection.model<MessageRecord>('Message', messageSchema)
  );
}
