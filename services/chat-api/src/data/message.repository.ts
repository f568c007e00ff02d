import { Types } from 'mongoose';
import type { Message, MessageAi, ReactionSummary } from '@cohort/common';
import {
  MESSAGE_CLIENT_ID_INDEX,
  MESSAGE_SEQ_INDEX,
  type MessageModel,
  type MessageRecord,
  type ReactionRecord,
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
  if (record.replyTo) message.replyTo = record.replyTo.toHexString();
  if (record.mentions && record.mentions.length > 0) message.mentions = record.mentions;
  const reactions = summarizeReactions(record.reactions);
  if (reactions.length > 0) message.reactions = reactions;
  if (record.reactionsVersion) message.reactionsVersion = record.reactionsVersion;
  if (record.ai) message.ai = record.ai;
  return message;
}

/** A search that takes longer is stopped by the store (code 50 → 503 `store_unavailable`). */
export const SEARCH_MAX_TIME_MS = 3000;

/** How many of the users who reacted with an emoji a summary names (the first ones). */
export const REACTION_USERS_SHOWN = 10;

/** The public summary: entries emptied by removals are left out; `count` is every user, `userIds` the first 10. */
export function summarizeReactions(records: readonly ReactionRecord[] | undefined): ReactionSummary[] {
  return (records ?? [])
    .filter((r) => r.userIds.length > 0)
    .map((r) => ({
      emoji: r.emoji,
      count: r.userIds.length,
      userIds: r.userIds.slice(0, REACTION_USERS_SHOWN),
    }));
}

/**
 * What a reaction change did: `changed` (stored, with the message after it), `unchanged` (already so: nothing
 * to publish), or why it was refused.
 */
export type ReactionOutcome =
  { status: 'changed' | 'unchanged'; message: Message } | { status: 'not_found' | 'deleted' | 'full' };

export interface NewMessage {
  seq: number;
  senderId: string;
  text: string;
  clientMsgId: string;
  createdAt: Date;
  replyTo?: string | undefined;
  mentions?: readonly string[] | undefined;
  ai?: MessageAi | undefined;
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

/** The `limit` messages of a chat just above seq `after`. */
export interface AfterPage {
  chatId: string;
  after: number;
  limit: number;
}

export interface MessagePage {
  before?: number | undefined;
  after?: number | undefined;
  limit: number;
}

export interface MessageRepository {
  findByClientMsgId(chatId: string, senderId: string, clientMsgId: string): Promise<Message | null>;
  /**
   * `$text` search (MongoDB syntax in `q`) over the messages of `chatIds`, not deleted, best text score first;
   * bounded by `limit` and by a server-side time limit.
   */
  searchText(
    chatIds: readonly string[],
    q: string,
    limit: number,
  ): Promise<{ message: Message; score: number }[]>;
  findById(chatId: string, messageId: string): Promise<Message | null>;
  /** A chat's highest stored message: its seq, sender and time (null when the chat has none). */
  latest(chatId: string): Promise<Pick<Message, 'seq' | 'senderId' | 'createdAt'> | null>;
  /** Inserts messages in order (ordered insertMany), stopping at the first refused one. */
  insertSequence(chatId: string, messages: readonly NewMessage[]): Promise<SequenceOutcome>;
  /** Ascending by seq: the newest `limit` without a cursor, the `limit` just below `before` or just above `after`. */
  list(chatId: string, page: MessagePage): Promise<Message[]>;
  /**
   * For each page, what `list(chatId, { after, limit })` answers (ascending by seq), all read with one query:
   * a batch of catch-ups costs the store one round trip, however many chats it names.
   */
  listAfterEach(pages: readonly AfterPage[]): Promise<Message[][]>;
  /** The messages at the given (chat, seq) points, keyed by chatId. */
  findAt(points: readonly { chatId: string; seq: number }[]): Promise<Map<string, Message>>;
  /** Replaces the text, and the mentions when `mentions` is given. */
  edit(
    chatId: string,
    messageId: string,
    text: string,
    at: Date,
    mentions?: readonly string[],
  ): Promise<Message | null>;
  /** Removes the text and the mentions (so they stop counting as unread mentions). */
  softDelete(chatId: string, messageId: string, at: Date): Promise<Message | null>;
  /**
   * Adds `userId` to the reactions of `emoji` on a message that is not deleted, creating the emoji's entry when
   * the message has fewer than `maxDistinct` (`full` otherwise). Atomic single-document updates only.
   */
  addReaction(
    chatId: string,
    messageId: string,
    emoji: string,
    userId: string,
    maxDistinct: number,
  ): Promise<ReactionOutcome>;
  /** Takes `userId` out of the reactions of `emoji` (an emptied entry is dropped). */
  removeReaction(chatId: string, messageId: string, emoji: string, userId: string): Promise<ReactionOutcome>;
  /**
   * How many messages of the chat after `afterSeq`, not deleted, mention `userId`, counting at most `cap`: one
   * range of chat_mentions_seq.
   */
  countMentions(chatId: string, userId: string, afterSeq: number, cap: number): Promise<number>;
}

/** Attempts of an add or remove whose conditional updates lost a race to a concurrent change of the same entry. */
const REACTION_ATTEMPTS = 10;

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
    async searchText(chatIds, q, limit) {
      const records = await model
        .find(
          { $text: { $search: q }, chatId: { $in: chatIds.map(oid) }, deletedAt: null },
          { score: { $meta: 'textScore' } },
        )
        .sort({ score: { $meta: 'textScore' } })
        .limit(limit)
        .maxTimeMS(SEARCH_MAX_TIME_MS)
        .lean<(MessageRecord & { score: number })[]>();
      return records.map(({ score, ...record }) => ({ message: toMessage(record), score }));
    },
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
    async latest(chatId) {
      const record = await model
        .findOne({ chatId: oid(chatId) }, { seq: 1, senderId: 1, createdAt: 1 })
        .sort({ seq: -1 })
        .lean<Pick<MessageRecord, 'seq' | 'senderId' | 'createdAt'>>();
      return record
        ? { seq: record.seq, senderId: record.senderId, createdAt: record.createdAt.toISOString() }
        : null;
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
        // Only when present: the driver would store an undefined field as null.
        ...(input.replyTo ? { replyTo: oid(input.replyTo) } : {}),
        ...(input.mentions && input.mentions.length > 0 ? { mentions: [...input.mentions] } : {}),
        ...(input.ai ? { ai: input.ai } : {}),
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
    async listAfterEach(pages) {
      if (pages.length === 0) return [];
      // A seq exists only once every lower seq of its chat is stored (message-sequencer.ts: the next seq is the
      // highest stored + 1, and an ordered insert stores a prefix), and a deleted message stays as a tombstone:
      // the `limit` messages just above `after` are exactly seqs after+1 … after+limit. So each page is one
      // bounded range of the (chatId, seq) index, and the ranges of a batch are one query.
      const ranges = pages.map(({ chatId, after, limit }) => ({
        chat: oid(chatId),
        from: after,
        to: after + limit,
      }));
      const records = await model
        .find({ $or: ranges.map(({ chat, from, to }) => ({ chatId: chat, seq: { $gt: from, $lte: to } })) })
        // Everything in the first reply: the answer is bounded by the pages' limits anyway.
        .batchSize(pages.reduce((sum, page) => sum + page.limit, 0) + 1)
        .lean<MessageRecord[]>();
      const byChat = new Map<string, MessageRecord[]>();
      for (const record of records) {
        const key = record.chatId.toHexString();
        const list = byChat.get(key);
        if (list) list.push(record);
        else byChat.set(key, [record]);
      }
      for (const list of byChat.values()) list.sort((a, b) => a.seq - b.seq);
      return ranges.map(({ chat, from, to }) =>
        (byChat.get(chat.toHexString()) ?? [])
          .filter((record) => record.seq > from && record.seq <= to)
          .map(toMessage),
      );
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
    async edit(chatId, messageId, text, at, mentions) {
      const record = await model
        .findOneAndUpdate(
          { _id: oid(messageId), chatId: oid(chatId), deletedAt: null },
          // `$literal`: in a pipeline a text such as "$seq" would otherwise read as a field path.
          [
            {
              $set: {
                text: { $literal: text },
                editedAt: at,
                version: nextVersion,
                ...(mentions ? { mentions: { $literal: [...mentions] } } : {}),
              },
            },
          ],
          { returnDocument: 'after', updatePipeline: true },
        )
        .lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
    async softDelete(chatId, messageId, at) {
      const record = await model
        .findOneAndUpdate(
          { _id: oid(messageId), chatId: oid(chatId), deletedAt: null },
          [{ $set: { text: '', mentions: { $literal: [] }, deletedAt: at, version: nextVersion } }],
          { returnDocument: 'after', updatePipeline: true },
        )
        .lean<MessageRecord>();
      return record ? toMessage(record) : null;
    },
    async addReaction(chatId, messageId, emoji, userId, maxDistinct) {
      const live = { _id: oid(messageId), chatId: oid(chatId), deletedAt: null };
      for (let attempt = 0; attempt < REACTION_ATTEMPTS; attempt++) {
        // The emoji's entry is there without me: join it (`$` is the entry $elemMatch found).
        let record = await model
          .findOneAndUpdate(
            { ...live, reactions: { $elemMatch: { emoji, userIds: { $ne: userId } } } },
            { $addToSet: { 'reactions.$.userIds': userId }, $inc: { reactionsVersion: 1 } },
            { returnDocument: 'after' },
          )
          .lean<MessageRecord>();
        if (record) return { status: 'changed', message: toMessage(record) };
        // No entry yet: create it, only while the message has room for one more distinct emoji. Both conditions
        // hold in the same atomic update, so two users starting the same emoji at once cannot make two entries.
        record = await model
          .findOneAndUpdate(
            {
              ...live,
              'reactions.emoji': { $ne: emoji },
              [`reactions.${maxDistinct - 1}`]: { $exists: false },
            },
            { $push: { reactions: { emoji, userIds: [userId] } }, $inc: { reactionsVersion: 1 } },
            { returnDocument: 'after' },
          )
          .lean<MessageRecord>();
        if (record) return { status: 'changed', message: toMessage(record) };
        const current = await model
          .findOne({ _id: oid(messageId), chatId: oid(chatId) })
          .lean<MessageRecord>();
        if (!current) return { status: 'not_found' };
        if (current.deletedAt) return { status: 'deleted' };
        const entry = current.reactions?.find((r) => r.emoji === emoji);
        if (entry?.userIds.includes(userId)) return { status: 'unchanged', message: toMessage(current) };
        if (!entry && (current.reactions?.length ?? 0) >= maxDistinct) return { status: 'full' };
        // The entry appeared or went away between the two updates: try again.
      }
      throw new Error('reaction update kept losing races');
    },
    async removeReaction(chatId, messageId, emoji, userId) {
      const filter = { _id: oid(messageId), chatId: oid(chatId) };
      let record = await model
        .findOneAndUpdate(
          { ...filter, deletedAt: null, reactions: { $elemMatch: { emoji, userIds: userId } } },
          { $pull: { 'reactions.$.userIds': userId }, $inc: { reactionsVersion: 1 } },
          { returnDocument: 'after' },
        )
        .lean<MessageRecord>();
      if (record) {
        // Drop entries nobody reacts with any more, so they stop counting towards the 20. Conditional on being
        // empty: a user who joined the entry meanwhile keeps it.
        if (record.reactions?.some((r) => r.userIds.length === 0)) {
          record =
            (await model
              .findOneAndUpdate(
                { ...filter, reactions: { $elemMatch: { userIds: { $size: 0 } } } },
                { $pull: { reactions: { userIds: { $size: 0 } } } },
                { returnDocument: 'after' },
              )
              .lean<MessageRecord>()) ?? record;
        }
        return { status: 'changed', message: toMessage(record) };
      }
      const current = await model.findOne(filter).lean<MessageRecord>();
      if (!current) return { status: 'not_found' };
      if (current.deletedAt) return { status: 'deleted' };
      return { status: 'unchanged', message: toMessage(current) };
    },
    async countMentions(chatId, userId, afterSeq, cap) {
      return model.countDocuments(
        { chatId: oid(chatId), mentions: userId, seq: { $gt: afterSeq }, deletedAt: null },
        { limit: cap },
      );
    },
  };
}
