import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** "blockerId blocked blockedId" (docs/security.md): the blocked user can no longer add the blocker or message them directly. */
export interface BlockRecord {
  _id: Types.ObjectId;
  blockerId: string;
  blockedId: string;
  /**
   * The id of the direct chat between the two (data/chat.repository.ts `directChatId`), whether or not it exists:
   * the send path asks "did the other member of this direct chat block me" with one point lookup.
   */
  directChatId: Types.ObjectId;
  createdAt: Date;
}

export const blockSchema = new Schema<BlockRecord>(
  {
    blockerId: { type: String, required: true },
    blockedId: { type: String, required: true },
    directChatId: { type: Schema.Types.ObjectId, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'blocks', versionKey: false },
);

// PUT/DELETE …/block (one row per pair, so blocking twice is a no-op), the blocker's list paged by blockedId,
// and "did any of these users block me" when adding members ($in on blockerId, equality on blockedId).
blockSchema.index({ blockerId: 1, blockedId: 1 }, { unique: true, name: 'blocker_blocked_unique' });
// Sending into a direct chat: did the other member block the sender.
blockSchema.index({ directChatId: 1, blockedId: 1 }, { name: 'direct_chat_blocked' });
// GET /internal/memberships: who blocked the caller (equality on blockedId, blockerId read from the index).
blockSchema.index({ blockedId: 1, blockerId: 1 }, { name: 'blocked_blocker' });

export type BlockModel = Model<BlockRecord>;

export function blockModel(connection: Connection): BlockModel {
  return (
    (connection.models.Block as BlockModel | undefined) ?? connection.model<BlockRecord>('Block', blockSchema)
  );
}
