import { Types } from 'mongoose';
import type { Message } from '@cohort/common';
import { MESSAGE_CLIENT_ID_INDEX, MESSAGE_SEQ_INDEX, type MessageModel, type MessageRecord } from './message.schema';
import { isDuplicateOn } from './mongo-errors';

export function toMessage(record: MessageRecord): Message {
  const message: Message = {
    id: record._id.toHexString(),
    chatId: record.chatId.toHexString(),
    seq: record.seq,
    senderId: record.senderId,
    text: record.text,
    clientMsgId: record.clientMsgId,
    createdAt: record.createdAt.toISOString(),
  };
  if (record.editedAt) message.editedAt = record.editedAt.toISOString();
  if (record.deletedAt) message.deletedAt = record.deletedAt.toISOString();
  return message;
}

export interface NewMessage {
  seq: number;
  senderId: string;
  text: string;
  clientMsgId: string;
  createdAt: Date;
}

export type InsertOutcome =
  | { kind: 'inserted'; message: Message }
  /** Another writer already holds this seq in the chat. */
  | { kind: 'seq_taken' }
  /** This sender already stored a message with this clientMsgId in the chat. */
  | { kind: 'client_msg_id_taken' };

export interface MessagePage {
  before?: number | undefined;
  after?: number | undefined;
  limit: number;
}

export interface MessageRepository {
  findByClientMsgId(chatId: string, senderId: string, clientMsgId: string): Promise<Message | null>;
  findById(chatId: string, messageId: string): Promise<Message | null>;
  /** The highest stored seq of a chat (0 when empty). */
  maxSeq(chatId: string): Promise<number>;
  insert(chatId: string, message: NewMessage): Promise<InsertOutcome>;
  /** Ascending by seq: the newest `limit` without a cursor, the `limit` just below `before` or just above `after`. */
  list(chatId: string, page: MessagePage): Promise<Message[]>;
  /** The messages at the given (chat, seq) points, keyed by chatId. */
  findAt(points: readonly { chatId: string; seq: number }[]): Promise<Map<string, Message>>;
  edit(chatId: string, messageId: string, text: string, at: Date): Promise<Message | null>;
  softDelete(chatId: string, messageId: string, at: Date): Promise<Message | null>;
}

export function createMessageRepository(model: MessageModel): MessageRepository {
  const oid = (id: string) => new Types.ObjectId(id);
  return {
    async findByClientMsgId(chatId, senderId, clientMsgId) {
      const record = await model.findOne({ chatId: oid(chatId), senderId, clientMsgId }).lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
    async findById(chatId, messageId) {
      // Scoped by chatId too: a message id from another chat is simply not found here.
      const record = await model.findOne({ _id: oid(messageId), chatId: oid(chatId) }).lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
    async maxSeq(chatId) {
      const record = await model
        .findOne({ chatId: oid(chatId) }, { seq: 1 })
        .sort({ seq: -1 })
        .lean<Pick<MessageRecord, 'seq'>>();
      return record?.seq ?? 0;
    },
    async insert(chatId, input) {
      const record: MessageRecord = {
        _id: new Types.ObjectId(),
        chatId: oid(chatId),
        seq: input.seq,
        senderId: input.senderId,
        text: input.text,
        clientMsgId: input.clientMsgId,
        createdAt: input.createdAt,
        editedAt: null,
        deletedAt: null,
      };
      try {
        // The driver's insertOne: the record is fully built and typed here, so mongoose's document
        // machinery would only add latency on the hottest write path.
        await model.collection.insertOne(record);
        return { kind: 'inserted', message: toMessage(record) };
      } catch (err) {
        if (isDuplicateOn(err, MESSAGE_CLIENT_ID_INDEX, ['chatId', 'senderId', 'clientMsgId'])) {
          return { kind: 'client_msg_id_taken' };
        }
        if (isDuplicateOn(err, MESSAGE_SEQ_INDEX, ['chatId', 'seq'])) return { kind: 'seq_taken' };
        throw err;
      }
    },
    async list(chatId, { before, after, limit }) {
      const chat = oid(chatId);
      if (after !== undefined) {
        return (await model.find({ chatId: chat, seq: { $gt: after } }).sort({ seq: 1 }).limit(limit).lean<MessageRecord[]>()).map(
          toMessage,
        );
      }
      const filter = before !== undefined ? { chatId: chat, seq: { $lt: before } } : { chatId: chat };
      const newestFirst = await model.find(filter).sort({ seq: -1 }).limit(limit).lean<MessageRecord[]>();
      return newestFirst.reverse().map(toMessage);
    },
    async findAt(points) {
      const found = new Map<string, Message>();
      if (points.length === 0) return found;
      const records = await model
        .find({ $or: points.map((p) => ({ chatId: oid(p.chatId), seq: p.seq })) })
        .lean<MessageRecord[]>();
      for (const record of records) found.set(record.chatId.toHexString(), toMessage(record));
      return found;
    },
    async edit(chatId, messageId, text, at) {
      const record = await model
        .findOneAndUpdate(
          { _id: oid(messageId), chatId: oid(chatId), deletedAt: null },
          { $set: { text, editedAt: at } },
          { returnDocument: 'after' },
        )
        .lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
    async softDelete(chatId, messageId, at) {
      const record = await model
        .findOneAndUpdate(
          { _id: oid(messageId), chatId: oid(chatId), deletedAt: null },
          { $set: { text: '', deletedAt: at } },
          { returnDocument: 'after' },
        )
        .lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
  };
}
