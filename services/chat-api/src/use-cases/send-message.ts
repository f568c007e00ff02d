import type { Message, SendMessageBody } from '@cohort/common';
import type { Caller } from '../lib/caller';
import { requireMembership } from './access';
import type { UseCaseDeps } from './deps';

/**
 * POST /api/chats/:chatId/messages (and realtime's chat:send through it). Stores the message with the
 * chat's next seq, publishes chat:new and records it (record-stored-messages.ts) before answering. The same
 * clientMsgId from the same sender returns the stored original (created: false) and publishes nothing: a
 * retry after a lost answer is harmless.
 */
export async function sendMessage(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  body: SendMessageBody,
): Promise<{ message: Message; created: boolean }> {
  const { repos, sequencer, sendLimiter, events, recentMembers } = deps;
  if (!recentMembers.has(chatId, caller.userId)) {
    await requireMembership(repos, chatId, caller.userId);
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
