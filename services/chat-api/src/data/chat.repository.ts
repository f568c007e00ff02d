import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import type { Chat } from '@cohort/common';
import type { ChatModel, ChatRecord } from './chat.schema';
import { isDuplicateKeyError } from './mongo-errors';

export function toChat(record: ChatRecord): Chat {
  return {
    id: record._id.toHexString(),
    type: record.type,
    title: record.title,
    ownerId: record.ownerId,
    lastSeq: record.lastSeq,
    createdAt: record.createdAt.toISOString(),
    lastMessageAt: record.lastMessageAt ? record.lastMessageAt.toISOString() : null,
  };
}

/**
 * The _id of the direct chat between two users, derived from the sorted pair. Find-or-create then rests on
 * the always-present unique _id index: two concurrent creations of the same pair cannot both insert.
 */
export function directChatId(userA: string, userB: string): string {
  const [first, second] = [userA, userB].sort();
  return createHash('sha256').update(`direct:${first}:${second}`).digest('hex').slice(0, 24);
}

export interface ChatRepository {
  findById(chatId: string): Promise<Chat | null>;
  findByIds(chatIds: readonly string[]): Promise<Chat[]>;
  /** A group, or an assistant chat (DESIGN §7): both are plain chats with an owner and a title. */
  createGroup(input: {
    title: string;
    ownerId: string;
    now: Date;
    type?: 'group' | 'assistant';
  }): Promise<Chat>;
  /** Inserts the direct chat with its pair-derived id; `existing` when it was already there (or just won by a racer). */
  createDirect(input: {
    chatId: string;
    ownerId: string;
    now: Date;
  }): Promise<{ chat: Chat; created: boolean }>;
  /**
   * Raises each chat's lastSeq and lastMessageAt, in one round trip; `$max`, so concurrent and out-of-order
   * calls converge.
   */
  recordMessages(latest: readonly { chatId: string; seq: number; at: Date }[]): Promise<void>;
  setOwner(chatId: string, ownerId: string): Promise<void>;
  /** Sets the title; the chat after it, or null when it does not exist. */
  rename(chatId: string, title: string): Promise<Chat | null>;
}

export function createChatRepository(model: ChatModel): ChatRepository {
  return {
    async findById(chatId) {
      const record = await model.findById(new Types.ObjectId(chatId)).lean<ChatRecord>();
      return record ? toChat(record) : null;
    },
    async findByIds(chatIds) {
      if (chatIds.length === 0) return [];
      const records = await model
        .find({ _id: { $in: chatIds.map((id) => new Types.ObjectId(id)) } })
        .lean<ChatRecord[]>();
      return records.map(toChat);
    },
    async createGroup({ title, ownerId, now, type = 'group' }) {
      const doc = await model.create({
        type,
        title,
        ownerId,
        lastSeq: 0,
        createdAt: now,
        lastMessageAt: null,
      });
      return toChat(doc.toObject());
    },
    async createDirect({ chatId, ownerId, now }) {
      const _id = new Types.ObjectId(chatId);
      try {
        const doc = await model.create({
          _id,
          type: 'direct',
          title: '',
          ownerId,
          lastSeq: 0,
          createdAt: now,
          lastMessageAt: null,
        });
        return { chat: toChat(doc.toObject()), created: true };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const existing = await model.findById(_id).lean<ChatRecord>();
        if (!existing) throw err;
        return { chat: toChat(existing), created: false };
      }
    },
    async recordMessages(latest) {
      if (latest.length === 0) return;
      await model.bulkWrite(
        latest.map(({ chatId, seq, at }) => ({
          updateOne: {
            filter: { _id: new Types.ObjectId(chatId) },
            update: { $max: { lastSeq: seq, lastMessageAt: at } },
          },
        })),
        { ordered: false },
      );
    },
    async setOwner(chatId, ownerId) {
      await model.updateOne({ _id: new Types.ObjectId(chatId) }, { $set: { ownerId } });
    },
    async rename(chatId, title) {
      const record = await model
        .findOneAndUpdate(
          { _id: new Types.ObjectId(chatId) },
          { $set: { title } },
          { returnDocument: 'after' },
        )
        .lean<ChatRecord>();
      return record ? toChat(record) : null;
    },
  };
}
