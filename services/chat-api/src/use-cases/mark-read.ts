import type { Caller } from '../domain/caller';
import { requireChat, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/** POST /api/chats/:chatId/read: moves the caller's read marker to `seq`, clamped to the chat's lastSeq, never back. */
export async function markRead(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  seq: number,
): Promise<void> {
  const { repos, events } = deps;
  const me = await requireMembership(repos, chatId, caller.userId);
  const chat = await requireChat(repos, chatId);
  const target = Math.min(seq, chat.lastSeq);
  if (target <= me.lastReadSeq) return;
  const moved = await repos.memberships.advanceReadMarker(chatId, caller.userId, target);
  if (moved) events.publish({ type: 'chat:read', chatId, userId: caller.userId, seq: target });
}
