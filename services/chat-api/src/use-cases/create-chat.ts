import {
  AppError,
  ASSISTANT_CHAT_DEFAULT_TITLE,
  ASSISTANT_USER_ID,
  type Chat,
  type CreateChatBody,
} from '@cohort/common';
import { directChatId } from '../data/chat.repository';
import type { Caller } from '../domain/caller';
import { chatWithMembers, refuseIfBlockedBy } from './access';
import { withBudget } from './action-limiter';
import type { UseCaseDeps } from './deps';

export interface CreateChatResult {
  chat: Chat;
  /** False when a direct chat between the two users already existed (200 instead of 201). */
  created: boolean;
}

/**
 * POST /api/chats: a group owned by the caller, the one direct chat between the caller and another user, or a new
 * assistant chat (the caller and the assistant; each call makes a new one, like "New chat").
 */
export async function createChat(
  deps: UseCaseDeps,
  caller: Caller,
  body: CreateChatBody,
): Promise<CreateChatResult> {
  switch (body.type) {
    case 'group':
      return createGroup(deps, caller, body.title, body.memberIds ?? []);
    case 'direct':
      return openDirect(deps, caller, body.userId);
    case 'assistant':
      return createAssistantChat(deps, caller, body.title ?? ASSISTANT_CHAT_DEFAULT_TITLE);
  }
}

async function createAssistantChat(
  deps: UseCaseDeps,
  caller: Caller,
  title: string,
): Promise<CreateChatResult> {
  const { repos, events, limits, now } = deps;
  if (caller.userId === ASSISTANT_USER_ID)
    throw AppError.badRequest('The assistant cannot open a chat with itself', 'invalid_direct_chat');
  return withBudget(
    [{ limiter: limits.chatCreation, points: 1 }],
    caller.userId,
    async () => undefined,
    async () => {
      const at = now();
      const created = await repos.chats.createGroup({
        title,
        ownerId: caller.userId,
        now: at,
        type: 'assistant',
      });
      const added = await repos.memberships.add(
        created.id,
        [
          { userId: caller.userId, role: 'owner' },
          { userId: ASSISTANT_USER_ID, role: 'member' },
        ],
        at,
        at,
      );
      const chat = await chatWithMembers(repos, created.id);
      events.publish({ type: 'chat:added', chatId: chat.id, userIds: added, chat });
      return { chat, created: true };
    },
  );
}

async function createGroup(
  deps: UseCaseDeps,
  caller: Caller,
  title: string,
  memberIds: readonly string[],
): Promise<CreateChatResult> {
  const { repos, users, events, limits, now } = deps;
  const others = [...new Set(memberIds)].filter((id) => id !== caller.userId);
  return withBudget(
    [
      { limiter: limits.chatCreation, points: 1 },
      { limiter: limits.memberAdditions, points: others.length },
    ],
    caller.userId,
    async () => {
      await users.assertUsersExist(others, caller);
      await refuseIfBlockedBy(repos, caller.userId, others);
    },
    async () => {
      const at = now();
      const created = await repos.chats.createGroup({ title, ownerId: caller.userId, now: at });
      const added = await repos.memberships.add(
        created.id,
        [
          { userId: caller.userId, role: 'owner' },
          ...others.map((userId) => ({ userId, role: 'member' as const })),
        ],
        at,
        at,
      );
      const chat = await chatWithMembers(repos, created.id);
      events.publish({ type: 'chat:added', chatId: chat.id, userIds: added, chat });
      return { chat, created: true };
    },
  );
}

async function openDirect(deps: UseCaseDeps, caller: Caller, userId: string): Promise<CreateChatResult> {
  const { repos, users, events, limits, now } = deps;
  if (userId === caller.userId)
    throw AppError.badRequest('A direct chat needs another user', 'invalid_direct_chat');
  if (userId === ASSISTANT_USER_ID)
    throw AppError.badRequest(
      'Talk to the assistant in an assistant chat: POST /api/chats {"type":"assistant"}',
      'invalid_direct_chat',
    );
  await refuseIfBlockedBy(repos, caller.userId, [userId]);
  const chatId = directChatId(caller.userId, userId);
  // Opening a direct chat both users are still in changes nothing, so it costs no creation budget.
  const current = await repos.memberships.listByChat(chatId);
  if ([caller.userId, userId].every((id) => current.some((m) => m.userId === id))) {
    const existing = await repos.chats.findById(chatId);
    if (existing) return { chat: { ...existing, members: current }, created: false };
  }
  return withBudget(
    [{ limiter: limits.chatCreation, points: 1 }],
    caller.userId,
    () => users.assertUsersExist([userId], caller),
    async () => {
      const at = now();
      const { chat: stored, created } = await repos.chats.createDirect({
        chatId,
        ownerId: caller.userId,
        now: at,
      });
      // Also on the "already exists" path: it completes the rows of a creator that lost a race (or crashed)
      // before adding them, and brings back a user who had left the direct chat and now opens it again.
      const added = await repos.memberships.add(
        stored.id,
        [
          { userId: caller.userId, role: 'member' },
          { userId, role: 'member' },
        ],
        at,
        stored.lastMessageAt ? new Date(stored.lastMessageAt) : new Date(stored.createdAt),
      );
      const chat = await chatWithMembers(repos, stored.id);
      if (added.length > 0) events.publish({ type: 'chat:added', chatId: chat.id, userIds: added, chat });
      return { chat, created };
    },
  );
}
