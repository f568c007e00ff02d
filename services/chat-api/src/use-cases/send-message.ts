import type { Message, SendMessageBody } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { blockedByUser, requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/**
 * POST /api/chats/:chatId/messages (and realtime's chat:send through it). Stores the message with the
 * chat's next seq, publishes chat:new and records it (record-stored-messages.ts) before answering. The same
 * clientMsgId from the same sender returns the stored original (created: false) and publishes nothing: a
 * retry after a lost answer is harmless. Into a direct chat whose other member blocked the sender: 403 `blocked`.
 */
export async function sendMessage(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  body: SendMessageBody,
): Promise<{ message: Message; created: boolean }> {
  const { repos, sequencer, sendLimiter, events, recentMembers } = deps;
  if (!recentMembers.has(chatId, caller.userId)) {
    // Both point lookups at once: a send that is not cached costs one round trip, as before blocking existed.
    // A non-member gets the 404 whatever the block says (no hint that the chat exists).
    const [, blocked] = await Promise.all([
      requireMembership(repos, chatId, caller.userId),
      repos.blocks.blocksDirectSend(chatId, caller.userId),
    ]);
    if (blocked) throw blockedByUser();
    // A block made through this process forgets this entry at once (block-user.ts); one made through another
    // process is seen within the cache's window, like a removal.
    recentMembers.remember(chatId, caller.userId);
  }
  await sendLimiter.consume(caller.userId);
  // No pre-read of (chatId, senderId, clientMsgId): the sequencer's insert is refused by that unique index
  // for a retry and answers with the stored original, so a fresh send (the common case) costs one store
  // round trip less.
  return sequencer.append(
    chatId,
    { senderId: caller.userId, text: body.text, clientMsgId: body.clientMsgId },
    (message) => events.publish({ type: 'chat:new', chatId, message }),
  );
}
