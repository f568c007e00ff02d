import { Types } from 'mongoose';
import type { ChatMember, MemberRole } from '@cohort/common';
import type { MembershipModel, MembershipRecord } from './membership.schema';
import { isDuplicateKeyError } from './mongo-errors';

export function toMember(record: MembershipRecord): ChatMember {
  return {
    userId: record.userId,
    role: record.role,
    joinedAt: record.joinedAt.toISOString(),
    lastReadSeq: record.lastReadSeq,
  };
}

export interface MyMembership {
  chatId: string;
  lastReadSeq: number;
}

export interface NewMember {
  userId: string;
  role: MemberRole;
}

export interface MembershipRepository {
  /** The caller's membership in a chat, or null: the one check behind every member-only route. */
  find(chatId: string, userId: string): Promise<ChatMember | null>;
  /** Members of a chat, earliest joined first. */
  listByChat(chatId: string): Promise<ChatMember[]>;
  listByUser(userId: string): Promise<MyMembership[]>;
  /** Adds members that are not there yet; returns the user ids actually added. Safe under concurrent adds. */
  add(chatId: string, members: readonly NewMember[], now: Date): Promise<string[]>;
  /** Whether a row was removed. */
  remove(chatId: string, userId: string): Promise<boolean>;
  setRole(chatId: string, userId: string, role: MemberRole): Promise<void>;
  /** Moves the read marker forward to `seq` (never back); whether it moved. */
  advanceReadMarker(chatId: string, userId: string, seq: number): Promise<boolean>;
  /** `advanceReadMarker` for many (chat, member) pairs in one round trip. */
  advanceReadMarkers(markers: readonly { chatId: string; userId: string; seq: number }[]): Promise<void>;
}

export function createMembershipRepository(model: MembershipModel): MembershipRepository {
  const oid = (chatId: string) => new Types.ObjectId(chatId);
  return {
    async find(chatId, userId) {
      const record = await model.findOne({ chatId: oid(chatId), userId }).lean<MembershipRecord>();
      return record ? toMember(record) : null;
    },
    async listByChat(chatId) {
      // Index scan on chat_user_unique's chatId prefix; a chat's members are few, so they are ordered here.
      const records = await model.find({ chatId: oid(chatId) }).lean<MembershipRecord[]>();
      return records
        .sort(
          (a, b) =>
            a.joinedAt.getTime() - b.joinedAt.getTime() ||
            a._id.toHexString().localeCompare(b._id.toHexString()),
        )
        .map(toMember);
    },
    async listByUser(userId) {
      const records = await model
        .find({ userId }, { chatId: 1, lastReadSeq: 1 })
        .lean<Pick<MembershipRecord, '_id' | 'chatId' | 'lastReadSeq'>[]>();
      return records.map((r) => ({ chatId: r.chatId.toHexString(), lastReadSeq: r.lastReadSeq }));
    },
    async add(chatId, members, now) {
      const added: string[] = [];
      // One upsert per member: `$setOnInsert` keeps an existing row (and its read marker) untouched, and the
      // unique (chatId, userId) index turns a concurrent duplicate into a "not added" rather than a second row.
      await Promise.all(
        members.map(async ({ userId, role }) => {
          try {
            const result = await model.updateOne(
              { chatId: oid(chatId), userId },
              { $setOnInsert: { role, joinedAt: now, lastReadSeq: 0 } },
              { upsert: true },
            );
            if (result.upsertedCount > 0) added.push(userId);
          } catch (err) {
            if (!isDuplicateKeyError(err)) throw err;
          }
        }),
      );
      const order = new Map(members.map((m, i) => [m.userId, i]));
      return added.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    },
    async remove(chatId, userId) {
      const result = await model.deleteOne({ chatId: oid(chatId), userId });
      return result.deletedCount > 0;
    },
    async setRole(chatId, userId, role) {
      await model.updateOne({ chatId: oid(chatId), userId }, { $set: { role } });
    },
    async advanceReadMarker(chatId, userId, seq) {
      const result = await model.updateOne(
        { chatId: oid(chatId), userId, lastReadSeq: { $lt: seq } },
        { $set: { lastReadSeq: seq } },
      );
      return result.modifiedCount > 0;
    },
    async advanceReadMarkers(markers) {
      if (markers.length === 0) return;
      await model.bulkWrite(
        markers.map(({ chatId, userId, seq }) => ({
          updateOne: {
            filter: { chatId: oid(chatId), userId, lastReadSeq: { $lt: seq } },
            update: { $set: { lastReadSeq: seq } },
          },
        })),
        { ordered: false },
      );
    },
  };
}
