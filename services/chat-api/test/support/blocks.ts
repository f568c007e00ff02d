import mongoose from 'mongoose';
import { blockModel } from '../../src/data/block.schema';
import type { Harness } from './index';

/**
 * `count` strangers block `userId`, written straight to the store: a thousand and more blocks through the API
 * would take the test's time.
 */
export async function blockedByStrangers(h: Harness, userId: string, count: number): Promise<void> {
  const db = await mongoose.createConnection(h.mongo.url).asPromise();
  try {
    await blockModel(db).insertMany(
      Array.from({ length: count }, () => ({
        blockerId: new mongoose.Types.ObjectId().toHexString(),
        blockedId: userId,
        directChatId: new mongoose.Types.ObjectId(),
        createdAt: new Date(),
      })),
    );
  } finally {
    await db.close();
  }
}
