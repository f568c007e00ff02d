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
  /** Whether the other member of the direct chat `chatId` blocked `senderId` (false for any other chat). */
  blocksDirectSend(chatId: string, senderId: string): Promise<boolean>;
}

export function createBlockRepository(model: BlockModel): BlockRepository {
  return {
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
    async blocksDirectSend(chatId, senderId) {
      const found = await model.exists({ directChatId: new Types.ObjectId(chatId), blockedId: senderId });
      return found !== null;
    },
  };
}
