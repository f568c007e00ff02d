import type { Caller } from '../domain/caller';
import { requireOwnMessage } from './edit-message';
import type { UseCaseDeps } from './deps';

/**
 * DELETE /api/chats/:chatId/messages/:messageId: soft delete by the sender: the text is removed, seq and
 * deletedAt stay so every client's sequence keeps its place. Deleting again changes nothing and publishes nothing.
 */
export async function deleteMessage(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  messageId: string,
): Promise<void> {
  const { repos, events, now } = deps;
  const message = await requireOwnMessage(repos, caller, chatId, messageId);
  if (message.deletedAt) return;
  const deleted = await repos.messages.softDelete(chatId, messageId, now());
  if (deleted) events.publish({ type: 'chat:deleted', chatId, message: deleted });
}
