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

/** A row of "my chats", in the order GET /api/chats pages them. */
export interface MyActivity extends MyMembership {
  lastActivityAt: Date;
}

/** Where a page of "my chats" resumes: strictly after this (activity, chatId), in descending order. */
export interface ActivityPosition {
  at: Date;
  chatId: string;
}

/** How `pairsAmong` names a membership. */
export const memberKey = (chatId: string, userId: string) => `${chatId}:${userId}`;

export interface NewMember {
  userId: string;
  role: MemberRole;
}

export interface MembershipRepository {
  /** The caller's membership in a chat, or null: the one check behind every member-only route. */
  find(chatId: string, userId: string): Promise<ChatMember | null>;
  /** Which of `chatIds` the user is a member of: point lookups on chat_user_unique (keep `chatIds` to a few hundred). */
  chatsWithMember(chatIds: readonly string[], userId: string): Promise<Set<string>>;
  /** Which of `userIds` (at most a few hundred) are members of `chatId`. */
  membersAmong(chatId: string, userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Which of the (chat, user) pairs (at most a few hundred) are memberships, as `memberKey`s: one query, point
   * seeks on chat_user_unique for every chat × user of the list, the pairs not asked for dropped here.
   */
  pairsAmong(pairs: readonly { chatId: string; userId: string }[]): Promise<Set<string>>;
  /** Members of a chat, earliest joined first. */
  listByChat(chatId: string): Promise<ChatMember[]>;
  /** The chat ids of each of `userIds` (at most a few hundred), in one query: equality seeks on user_activity. */
  chatIdsOfEach(userIds: readonly string[]): Promise<Map<string, string[]>>;
  /**
   * Up to `limit` of the user's chats, newest activity first (ties: higher chatId first), strictly after
   * `after` when given. At most two bounded index walks on user_activity, whatever the user's chat count.
   */
  pageByActivity(userId: string, limit: number, after?: ActivityPosition): Promise<MyActivity[]>;
  /**
   * Adds members that are not there yet; returns the user ids actually added. Safe under concurrent adds.
   * `activityAt` is the chat's current activity (last message or creation), where the new rows start.
   */
  add(chatId: string, members: readonly NewMember[], now: Date, activityAt: Date): Promise<string[]>;
  /**
   * What stored messages imply for memberships, in one round trip: every member's copy of each chat's activity
   * raised (`$max`), and each sender's read marker moved forward to their own latest message (never back).
   */
  recordStoredMessages(
    latest: readonly { chatId: string; at: Date }[],
    markers: readonly { chatId: string; userId: string; seq: number }[],
  ): Promise<void>;
  /** Whether a row was removed. */
  remove(chatId: string, userId: string): Promise<boolean>;
  setRole(chatId: string, userId: string, role: MemberRole): Promise<void>;
  /** Moves the read marker forward to `seq` (never back); whether it moved. */
  advanceReadMarker(chatId: string, userId: string, seq: number): Promise<boolean>;
}

export function createMembershipRepository(model: MembershipModel): MembershipRepository {
  const oid = (chatId: string) => new Types.ObjectId(chatId);
  return {
    async find(chatId, userId) {
      const record = await model.findOne({ chatId: oid(chatId), userId }).lean<MembershipRecord>();
      return record ? toMember(record) : null;
    },
    async chatsWithMember(chatIds, userId) {
      if (chatIds.length === 0) return new Set();
      const rows = await model
        .find({ chatId: { $in: chatIds.map(oid) }, userId }, { chatId: 1 })
        .lean<Pick<MembershipRecord, '_id' | 'chatId'>[]>();
      return new Set(rows.map((r) => r.chatId.toHexString()));
    },
    async membersAmong(chatId, userIds) {
      if (userIds.length === 0) return new Set();
      const rows = await model
        .find({ chatId: oid(chatId), userId: { $in: [...new Set(userIds)] } }, { userId: 1 })
        .lean<Pick<MembershipRecord, '_id' | 'userId'>[]>();
      return new Set(rows.map((r) => r.userId));
    },
    async pairsAmong(pairs) {
      if (pairs.length === 0) return new Set();
      const chatIds = [...new Set(pairs.map((p) => p.chatId))];
      const userIds = [...new Set(pairs.map((p) => p.userId))];
      const asked = new Set(pairs.map((p) => memberKey(p.chatId, p.userId)));
      const rows = await model
        .find(
          { chatId: { $in: chatIds.map(oid) }, userId: { $in: userIds } },
          { _id: 0, chatId: 1, userId: 1 },
        )
        .lean<Pick<MembershipRecord, 'chatId' | 'userId'>[]>();
      return new Set(
        rows.map((r) => memberKey(r.chatId.toHexString(), r.userId)).filter((k) => asked.has(k)),
      );
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
    async chatIdsOfEach(userIds) {
      const ids = [...new Set(userIds)];
      if (ids.length === 0) return new Map();
      const records = await model
        .find({ userId: { $in: ids } }, { _id: 0, userId: 1, chatId: 1 })
        .lean<Pick<MembershipRecord, 'userId' | 'chatId'>[]>();
      const byUser = new Map(ids.map((id) => [id, [] as string[]]));
      for (const r of records) byUser.get(r.userId)?.push(r.chatId.toHexString());
      return byUser;
    },
    async pageByActivity(userId, limit, after) {
      type Row = Pick<MembershipRecord, 'chatId' | 'lastReadSeq' | 'lastActivityAt'>;
      const fields = { chatId: 1, lastReadSeq: 1, lastActivityAt: 1 };
      const walk = (filter: Record<string, unknown>, max: number) =>
        model
          .find({ userId, ...filter }, fields)
          .sort({ lastActivityAt: -1, chatId: -1 })
          .limit(max)
          .lean<Row[]>();
      let rows: Row[];
      if (!after) {
        rows = await walk({}, limit);
      } else {
        // Two range scans rather than one $or: the rest of the tie at `after.at`, then everything older. Each
        // is one interval of the index, so the store stops after `limit` entries (an $or would be a union of
        // scans sorted afterwards, reading all of the user's older chats).
        rows = await walk({ lastActivityAt: after.at, chatId: { $lt: oid(after.chatId) } }, limit);
        if (rows.length < limit)
          rows = rows.concat(await walk({ lastActivityAt: { $lt: after.at } }, limit - rows.length));
      }
      return rows.map((r) => ({
        chatId: r.chatId.toHexString(),
        lastReadSeq: r.lastReadSeq,
        lastActivityAt: r.lastActivityAt,
      }));
    },
    async recordStoredMessages(latest, markers) {
      if (latest.length === 0 && markers.length === 0) return;
      // Unordered: each operation stands alone and only moves a value forward, so any order converges.
      await model.bulkWrite(
        [
          // A chat's members are bounded by its size; the chat_user_unique chatId prefix finds them.
          ...latest.map(({ chatId, at }) => ({
            updateMany: { filter: { chatId: oid(chatId) }, update: { $max: { lastActivityAt: at } } },
          })),
          ...markers.map(({ chatId, userId, seq }) => ({
            updateOne: {
              filter: { chatId: oid(chatId), userId, lastReadSeq: { $lt: seq } },
              update: { $set: { lastReadSeq: seq } },
            },
          })),
        ],
        { ordered: false },
      );
    },
    async add(chatId, members, now, activityAt) {
      const added: string[] = [];
      // One upsert per member: `$setOnInsert` keeps an existing row (and its read marker) untouched, and the
      // unique (chatId, userId) index turns a concurrent duplicate into a "not added" rather than a second row.
      await Promise.all(
        members.map(async ({ userId, role }) => {
          try {
            const result = await model.updateOne(
              { chatId: oid(chatId), userId },
              { $setOnInsert: { role, joinedAt: now, lastReadSeq: 0, lastActivityAt: activityAt } },
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
  };
}
