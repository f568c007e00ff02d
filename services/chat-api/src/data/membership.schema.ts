import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { MemberRole } from '@cohort/common';

export interface MembershipRecord {
  _id: Types.ObjectId;
  chatId: Types.ObjectId;
  userId: string;
  role: MemberRole;
  joinedAt: Date;
  lastReadSeq: number;
}

export const membershipSchema = new Schema<MembershipRecord>(
  {
    chatId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: String, required: true },
    role: { type: String, enum: ['owner', 'member'], required: true },
    joinedAt: { type: Date, required: true },
    lastReadSeq: { type: Number, default: 0, min: 0 },
  },
  { collection: 'memberships', versionKey: false },
);

// Membership check on every member-only route, add/remove/leave, read markers; unique = one row per
// (chat, user), which also makes concurrent adds of the same user safe. Its chatId prefix serves the member list.
membershipSchema.index({ chatId: 1, userId: 1 }, { unique: true, name: 'chat_user_unique' });
// "My chats": GET /api/chats and GET /internal/memberships (realtime's room list).
membershipSchema.index({ userId: 1, chatId: 1 }, { name: 'user_chat' });

export type MembershipModel = Model<MembershipRecord>;

export function membershipModel(connection: Connection): MembershipModel {
  return (
    (connection.models.Membership as MembershipModel | undefined) ??
    connection.model<MembershipRecord>('Membership', membershipSchema)
  );
}
