import { Types } from 'mongoose';
import type { BlockedUser } from '@cohort/common';
import type { BlockModel, BlockRecord } from './block.schema';
import { directChatId } from './chat.repository';
import { isDuplicateKeyError } from './mongo-errors';

export interface BlockRepository {
  /** Records that `blockerId` blocked `blockedId`; blocking again changes nothing. */
  block(blockerId: string, blockedId: string, now: Date): Promise<void>;
  /** Whether a row was removed. */
  unblock(blockerId: string, blockedId: string): Promise<boolean>;
  /** Up to `limit` users `blockerId` blocked, by ascending id, strictly after `afterId` when given. */
  listBlocked(blockerId: string, limit: number, afterId?: string): Promise<BlockedUser[]>;
  /** Which of `userIds` (at most a few hundred) blocked `userId`. */
  whoBlocked(userId: string, userIds: readonly string[]): Promise<string[]>;
  /**
   * Up to `limit` users in a block relation with `userId`, either way (they blocked `userId` or `userId` blocked
   * them), without duplicates: two indexed queries, each bounded by `limit`.
   */
  blockPartners(userId: string, limit: number): Promise<string[]>;
  /**
   * `blockPartners` of each of `userIds` (at most a few hundred), each answer exactly what the single call gives:
   * two queries for the whole list, each bounded by `limit`; should either reach that bound (a user in the list
   * has that many blocks), the answers come from one `blockPartners` per user instead.
   */
  blockPartnersOfEach(userIds: readonly string[], limit: number): Promise<Map<string, string[]>>;
  /** Whether the other member of the direct chat `chatId` blocked `senderId` (false for any other chat). */
  blocksDirectSend(chatId: string, senderId: string): Promise<boolean>;
}

export function createBlockRepository(model: BlockModel): BlockRepository {
  const repository: BlockRepository = {
    async block(blockerId, blockedId, now) {
      try {
        await model.updateOne(
          { blockerId, blockedId },
          {
            $setOnInsert: {
              directChatId: new Types.ObjectId(directChatId(blockerId, blockedId)),
              createdAt: now,
            },
          },
          { upsert: true },
        );
      } catch (err) {
        // Two concurrent blocks of the same pair: the unique index kept one row, which is the outcome wanted.
        if (!isDuplicateKeyError(err)) throw err;
      }
    },
    async unblock(blockerId, blockedId) {
      const result = await model.deleteOne({ blockerId, blockedId });
      return result.deletedCount > 0;
    },
    async listBlocked(blockerId, limit, afterId) {
      const records = await model
        .find(afterId ? { blockerId, blockedId: { $gt: afterId } } : { blockerId }, {
          blockedId: 1,
          createdAt: 1,
        })
        .sort({ blockedId: 1 })
        .limit(limit)
        .lean<Pick<BlockRecord, 'blockedId' | 'createdAt'>[]>();
      return records.map((r) => ({ id: r.blockedId, blockedAt: r.createdAt.toISOString() }));
    },
    async whoBlocked(userId, userIds) {
      if (userIds.length === 0) return [];
      const records = await model
        .find({ blockerId: { $in: [...new Set(userIds)] }, blockedId: userId }, { blockerId: 1 })
        .lean<Pick<BlockRecord, 'blockerId'>[]>();
      return records.map((r) => r.blockerId);
    },
    async blockPartners(userId, limit) {
      const [blocked, blockers] = await Promise.all([
        model
          .find({ blockerId: userId }, { _id: 0, blockedId: 1 })
          .sort({ blockedId: 1 })
          .limit(limit)
          .lean<Pick<BlockRecord, 'blockedId'>[]>(),
        model
          .find({ blockedId: userId }, { _id: 0, blockerId: 1 })
          .sort({ blockerId: 1 })
          .limit(limit)
          .lean<Pick<BlockRecord, 'blockerId'>[]>(),
      ]);
      const partners = new Set([...blocked.map((r) => r.blockedId), ...blockers.map((r) => r.blockerId)]);
      return [...partners].slice(0, limit);
    },
    async blockPartnersOfEach(userIds, limit) {
      const ids = [...new Set(userIds)];
      if (ids.length === 0) return new Map();
      const [blocked, blockers] = await Promise.all([
        model
          .find({ blockerId: { $in: ids } }, { _id: 0, blockerId: 1, blockedId: 1 })
          .limit(limit + 1)
          .lean<Pick<BlockRecord, 'blockerId' | 'blockedId'>[]>(),
        model
          .find({ blockedId: { $in: ids } }, { _id: 0, blockerId: 1, blockedId: 1 })
          .limit(limit + 1)
          .lean<Pick<BlockRecord, 'blockerId' | 'blockedId'>[]>(),
      ]);
      if (blocked.length > limit || blockers.length > limit) {
        const each = await Promise.all(ids.map((id) => repository.blockPartners(id, limit)));
        return new Map(ids.map((id, i) => [id, each[i]!]));
      }
      // Nothing was cut off: each user's rows are all here, ordered and bounded as the single call orders them.
      const byUser = new Map(ids.map((id) => [id, { blocked: [] as string[], blockers: [] as string[] }]));
      for (const r of blocked) byUser.get(r.blockerId)?.blocked.push(r.blockedId);
      for (const r of blockers) byUser.get(r.blockedId)?.blockers.push(r.blockerId);
      const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      return new Map(
        [...byUser].map(([id, rows]) => [
          id,
          [...new Set([...rows.blocked.sort(byId), ...rows.blockers.sort(byId)])].slice(0, limit),
        ]),
      );
    },
    async blocksDirectSend(chatId, senderId) {
      const found = await model.exists({ directChatId: new Types.ObjectId(chatId), blockedId: senderId });
      return found !== null;
    },
  };
  return repository;
}
