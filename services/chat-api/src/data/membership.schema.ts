import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { MemberRole } from '@cohort/common';

export interface MembershipRecord {
  _id: Types.ObjectId;
  chatId: Types.ObjectId;
  userId: string;
  role: MemberRole;
  joinedAt: Date;
  lastReadSeq: number;
  /**
   * The chat's latest activity (its last message's time, or its creation), copied onto every member's row so
   * "my chats, newest activity first" is one bounded index walk (user_activity) instead of a read of all of a
   * user's chats. Raised with `$max` in the same round that records a stored batch (record-stored-messages.ts).
   */
  lastActivityAt: Date;
}

export const membershipSchema = new Schema<MembershipRecord>(
  {
    chatId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: String, required: true },
    role: { type: String, enum: ['owner', 'member'], required: true },
    joinedAt: { type: Date, required: true },
    lastReadSeq: { type: Number, default: 0, min: 0 },
    lastActivityAt: { type: Date, required: true },
  },
  { collection: 'memberships', versionKey: false },
);

// Membership check on every member-only route, add/remove/leave, read markers; unique = one row per
// (chat, user), which also makes concurrent adds of the same user safe. Its chatId prefix serves the member list.
membershipSchema.index({ chatId: 1, userId: 1 }, { unique: true, name: 'chat_user_unique' });
// "My chats": a page of GET /api/chats (equality on userId, a range on lastActivityAt, then chatId: the scan
// stops after one page whatever the user's chat count); its userId prefix serves GET /internal/memberships.
membershipSchema.index({ userId: 1, lastActivityAt: -1, chatId: -1 }, { name: 'user_activity' });

export type MembershipModel = Model<MembershipRecord>;

export function membershipModel(connection: Connection): MembershipModel {
  return (
    (connection.models.Membership as MembershipModel | undefined) ??
    connection.model<MembershipRecord>('Membership', membershipSchema)
  );
}
