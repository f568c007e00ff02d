import { Types } from 'mongoose';
import type { Message } from '@cohort/common';
import {
  MESSAGE_CLIENT_ID_INDEX,
  MESSAGE_SEQ_INDEX,
  type MessageModel,
  type MessageRecord,
} from './message.schema';
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
    version: record.version ?? 1,
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

/**
 * What an ordered insert of consecutive messages stored: always a prefix of them (possibly empty), then,
 * if it stopped early, why the next one was refused. Nothing after a refused message is stored.
 */
export interface SequenceOutcome {
  stored: Message[];
  /** `seq_taken`: another writer already holds that seq; `client_msg_id_taken`: that sender already stored that clientMsgId. */
  refused?: 'seq_taken' | 'client_msg_id_taken';
}

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
  /** Inserts messages in order (ordered insertMany), stopping at the first refused one. */
  insertSequence(chatId: string, messages: readonly NewMessage[]): Promise<SequenceOutcome>;
  /** Ascending by seq: the newest `limit` without a cursor, the `limit` just below `before` or just above `after`. */
  list(chatId: string, page: MessagePage): Promise<Message[]>;
  /** The messages at the given (chat, seq) points, keyed by chatId. */
  findAt(points: readonly { chatId: string; seq: number }[]): Promise<Map<string, Message>>;
  edit(chatId: string, messageId: string, text: string, at: Date): Promise<Message | null>;
  softDelete(chatId: string, messageId: string, at: Date): Promise<Message | null>;
}

interface BulkWriteErrorEntry {
  index: number;
  code: number;
  errmsg?: string;
  keyPattern?: Record<string, unknown>;
}

/** The per-document errors of a failed bulk write (MongoBulkWriteError), in index order; [] for other errors. */
function bulkWriteErrors(err: unknown): BulkWriteErrorEntry[] {
  if (typeof err !== 'object' || err === null) return [];
  const entries = (err as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(entries) ? entries : entries ? [entries] : [];
  return list
    .filter((e): e is BulkWriteErrorEntry => typeof (e as { index?: unknown }).index === 'number')
    .sort((a, b) => a.index - b.index);
}

/**
 * The version after a change, computed by the store in the same update as the change, so concurrent edits get
 * distinct, increasing versions. An update pipeline rather than `$inc`: a message stored before versions existed
 * has none and reads as 1, so its first edit must be 2 (`$inc` would make it 1, a tie the client could drop).
 */
const nextVersion = { $add: [{ $ifNull: ['$version', 1] }, 1] };

export function createMessageRepository(model: MessageModel): MessageRepository {
  const oid = (id: string) => new Types.ObjectId(id);
  return {
    async findByClientMsgId(chatId, senderId, clientMsgId) {
      const record = await model
        .findOne({ chatId: oid(chatId), senderId, clientMsgId })
        .lean<MessageRecord>();
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
    async insertSequence(chatId, inputs) {
      const chat = oid(chatId);
      const records: MessageRecord[] = inputs.map((input) => ({
        _id: new Types.ObjectId(),
        chatId: chat,
        seq: input.seq,
        senderId: input.senderId,
        text: input.text,
        clientMsgId: input.clientMsgId,
        createdAt: input.createdAt,
        editedAt: null,
        deletedAt: null,
        version: 1,
      }));
      try {
        // The driver's insertMany: the records are fully built and typed here, so mongoose's document
        // machinery would only add latency on the hottest write path. Ordered: a refusal stops the rest.
        await model.collection.insertMany(records, { ordered: true });
        return { stored: records.map(toMessage) };
      } catch (err) {
        const firstError = bulkWriteErrors(err)[0];
        if (!firstError) throw err;
        const storedBefore = records.slice(0, firstError.index).map(toMessage);
        if (isDuplicateOn(firstError, MESSAGE_CLIENT_ID_INDEX, ['chatId', 'senderId', 'clientMsgId'])) {
          return { stored: storedBefore, refused: 'client_msg_id_taken' };
        }
        if (isDuplicateOn(firstError, MESSAGE_SEQ_INDEX, ['chatId', 'seq']))
          return { stored: storedBefore, refused: 'seq_taken' };
        throw err;
      }
    },
    async list(chatId, { before, after, limit }) {
      const chat = oid(chatId);
      if (after !== undefined) {
        return (
          await model
            .find({ chatId: chat, seq: { $gt: after } })
            .sort({ seq: 1 })
            .limit(limit)
            .lean<MessageRecord[]>()
        ).map(toMessage);
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
          // `$literal`: in a pipeline a text such as "$seq" would otherwise read as a field path.
          [{ $set: { text: { $literal: text }, editedAt: at, version: nextVersion } }],
          { returnDocument: 'after', updatePipeline: true },
        )
        .lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
    async softDelete(chatId, messageId, at) {
      const record = await model
        .findOneAndUpdate(
          { _id: oid(messageId), chatId: oid(chatId), deletedAt: null },
          [{ $set: { text: '', deletedAt: at, version: nextVersion } }],
          { returnDocument: 'after', updatePipeline: true },
        )
        .lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
  };
}
