import type { Caller } from '../domain/caller';
import { requireChat, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/**
 * POST /api/chats/:chatId/read: moves the caller's read marker to `seq`, clamped to the chat's highest stored seq,
 * never back. A client reads a message as soon as it arrives, before another replica's bookkeeping may have raised
 * the chat's lastSeq (record-stored-messages.ts): a `seq` above it is checked against the messages themselves.
 */
export async function markRead(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  seq: number,
): Promise<void> {
  const { repos, events } = deps;
  const me = await requireMembership(repos, chatId, caller.userId);
  const chat = await requireChat(repos, chatId);
  const target = seq <= chat.lastSeq ? seq : Math.min(seq, (await repos.messages.latest(chatId))?.seq ?? 0);
  if (target <= me.lastReadSeq) return;
  const moved = await repos.memberships.advanceReadMarker(chatId, caller.userId, target);
  if (moved) events.publish({ type: 'chat:read', chatId, userId: caller.userId, seq: target });
}
