import type { Connection } from 'mongoose';
import { blockModel } from './block.schema';
import { createBlockRepository, type BlockRepository } from './block.repository';
import { chatModel, type ChatModel, type ChatRecord } from './chat.schema';
import { createChatRepository, type ChatRepository } from './chat.repository';
import { membershipModel, type MembershipModel, type MembershipRecord } from './membership.schema';
import { createMembershipRepository, type MembershipRepository } from './membership.repository';
import { messageModel } from './message.schema';
import { createMessageRepository, type MessageRepository } from './message.repository';

export interface Repositories {
  chats: ChatRepository;
  memberships: MembershipRepository;
  messages: MessageRepository;
  blocks: BlockRepository;
}

/**
 * chat-api's models on `connection`, with their indexes built before the first request (the unique ones carry
 * the ordering, idempotency and one-block-per-pair guarantees), and rows from before `lastActivityAt` existed
 * brought up to date.
 */
export async function openRepositories(connection: Connection): Promise<Repositories> {
  const models = {
    chats: chatModel(connection),
    memberships: membershipModel(connection),
    messages: messageModel(connection),
    blocks: blockModel(connection),
  };
  await Promise.all(Object.values(models).map((model) => model.init()));
  await backfillMembershipActivity(models.memberships, models.chats);
  return {
    chats: createChatRepository(models.chats),
    memberships: createMembershipRepository(models.memberships),
    messages: createMessageRepository(models.messages),
    blocks: createBlockRepository(models.blocks),
  };
}

const BACKFILL_BATCH = 500;

/**
 * Memberships stored before the chat list was paged have no `lastActivityAt`; they get their chat's activity,
 * a batch at a time. Once done it costs one query that finds nothing.
 */
export async function backfillMembershipActivity(
  memberships: MembershipModel,
  chats: ChatModel,
): Promise<number> {
  let updated = 0;
  for (;;) {
    const rows = await memberships
      .find({ lastActivityAt: null }, { chatId: 1 })
      .limit(BACKFILL_BATCH)
      .lean<Pick<MembershipRecord, '_id' | 'chatId'>[]>();
    if (rows.length === 0) return updated;
    const chatIds = [...new Set(rows.map((r) => r.chatId.toHexString()))];
    const found = await chats
      .find({ _id: { $in: chatIds } }, { createdAt: 1, lastMessageAt: 1 })
      .lean<Pick<ChatRecord, '_id' | 'createdAt' | 'lastMessageAt'>[]>();
    const activity = new Map(found.map((c) => [c._id.toHexString(), c.lastMessageAt ?? c.createdAt]));
    await memberships.bulkWrite(
      rows.map((row) => ({
        updateOne: {
          filter: { _id: row._id },
          // A row whose chat is gone still needs a value, or it would be found again forever.
          update: { $set: { lastActivityAt: activity.get(row.chatId.toHexString()) ?? new Date(0) } },
        },
      })),
      { ordered: false },
    );
    updated += rows.length;
  }
}
