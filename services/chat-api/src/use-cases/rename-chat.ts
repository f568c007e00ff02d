import { AppError, ASSISTANT_USER_ID, type Chat } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { chatNotFound, chatWithMembers, requireChat, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/**
 * PATCH /api/chats/:chatId: the owner of a group gives it a new title (already trimmed, 1–100 characters);
 * members get `chat:changed` with the chat (without its members: the event stays small whatever the group's
 * size). A direct chat has no title of its own (clients show the other member): 403 `direct_chat_fixed`. In an
 * assistant chat the assistant may rename it too: it names the chat after its first answer (DESIGN §8).
 */
export async function renameChat(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  title: string,
): Promise<Chat> {
  const { repos, events } = deps;
  const me = await requireMembership(repos, chatId, caller.userId);
  const chat = await requireChat(repos, chatId);
  if (chat.type === 'direct')
    throw AppError.forbidden('A direct chat cannot be renamed', 'direct_chat_fixed');
  const assistantNaming = chat.type === 'assistant' && caller.userId === ASSISTANT_USER_ID;
  if (me.role !== 'owner' && !assistantNaming)
    throw AppError.forbidden('Only the chat owner can rename it', 'not_owner');
  const renamed = await repos.chats.rename(chatId, title);
  if (!renamed) throw chatNotFound();
  events.publish({ type: 'chat:changed', chatId, chat: renamed });
  return chatWithMembers(repos, chatId);
}
