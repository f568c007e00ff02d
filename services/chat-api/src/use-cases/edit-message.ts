import { AppError, type Message } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { requireMembership } from './access';
import type { Repositories, UseCaseDeps } from './deps';
import { checkMentions } from './message-references';

export const messageNotFound = () => AppError.notFound('Message not found', 'message_not_found');
export const messageDeleted = () => new AppError(409, 'message_deleted', 'The message was deleted');

/** The message, for its sender only: 404 when it is not in this chat, 403 when someone else sent it. */
export async function requireOwnMessage(
  repos: Repositories,
  caller: Caller,
  chatId: string,
  messageId: string,
): Promise<Message> {
  await requireMembership(repos, chatId, caller.userId);
  const message = await repos.messages.findById(chatId, messageId);
  if (!message) throw messageNotFound();
  if (message.senderId !== caller.userId)
    throw AppError.forbidden('Only the sender can change a message', 'not_sender');
  return message;
}

/**
 * PATCH /api/chats/:chatId/messages/:messageId: the sender replaces the text (and the mentions, when given:
 * checked as at send); seq and position stay, the version goes up by one in the same write (concurrent edits get
 * distinct versions, docs/security.md).
 */
export async function editMessage(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  messageId: string,
  text: string,
  mentions?: readonly string[],
): Promise<Message> {
  const { repos, events, limits, now } = deps;
  const message = await requireOwnMessage(repos, caller, chatId, messageId);
  if (message.deletedAt) throw messageDeleted();
  const checked =
    mentions === undefined ? undefined : await checkMentions(repos, chatId, caller.userId, mentions);
  // Taken after the checks, so only edits that would be stored count; a refusal stores nothing.
  await limits.messageEdits.consume(caller.userId);
  const edited = await repos.messages.edit(chatId, messageId, text, now(), checked);
  if (!edited) throw messageDeleted();
  events.publish({ type: 'chat:updated', chatId, message: edited });
  return edited;
}
