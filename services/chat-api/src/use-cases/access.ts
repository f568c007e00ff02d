import { AppError, type Chat, type ChatMember } from '@cohort/common';
import type { Repositories } from './deps';

/** Non-members learn nothing about a chat, not even that it exists (docs/http-api.md): always this 404. */
export const chatNotFound = () => AppError.notFound('Chat not found', 'chat_not_found');

/** The caller's membership, or the same 404 a missing chat gives. */
export async function requireMembership(
  repos: Repositories,
  chatId: string,
  userId: string,
): Promise<ChatMember> {
  const membership = await repos.memberships.find(chatId, userId);
  if (!membership) throw chatNotFound();
  return membership;
}

/** The chat, for a caller already known to be a member. */
export async function requireChat(repos: Repositories, chatId: string): Promise<Chat> {
  const chat = await repos.chats.findById(chatId);
  if (!chat) throw chatNotFound();
  return chat;
}

/** A chat with its member list (GET /api/chats/:chatId, and the payload of chat:added). */
export async function chatWithMembers(repos: Repositories, chatId: string): Promise<Chat> {
  const [chat, members] = await Promise.all([
    requireChat(repos, chatId),
    repos.memberships.listByChat(chatId),
  ]);
  return { ...chat, members };
}

/** docs/security.md: someone who blocked the caller cannot be added by them or messaged directly by them. */
export const blockedByUser = () =>
  AppError.forbidden('This user does not accept chats or messages from you', 'blocked');

/** Throws 403 `blocked` when any of `userIds` blocked the caller. */
export async function refuseIfBlockedBy(
  repos: Repositories,
  callerId: string,
  userIds: readonly string[],
): Promise<void> {
  const blockers = await repos.blocks.whoBlocked(callerId, userIds);
  if (blockers.length > 0) throw blockedByUser();
}
