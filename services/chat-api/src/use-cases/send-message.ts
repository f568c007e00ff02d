import type { Message, SendMessageBody } from '@cohort/common';
import type { Caller } from '../lib/caller';
import { requireMembership } from './access';
import type { Repositories, UseCaseDeps } from './deps';

/**
 * POST /api/chats/:chatId/messages (and realtime's chat:send through it). Stores the message with the
 * chat's next seq, publishes chat:new and records it (`recordStoredMessages`) before answering. The same
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

/**
 * The sequencer's `afterStored`: raises the chat's lastSeq and lastMessageAt, and moves each sender's read
 * marker to their own latest message (a sender's own messages never count as unread for them). One chat
 * update and one read-marker write per stored batch, however many messages it holds.
 */
export async function recordStoredMessages(
  repos: Repositories,
  chatId: string,
  stored: readonly Message[],
): Promise<void> {
  const last = stored.at(-1);
  if (!last) return;
  const latestBySender = new Map<string, number>();
  for (const { senderId, seq } of stored) latestBySender.set(senderId, seq);
  await Promise.all([
    repos.chats.recordMessage(chatId, last.seq, new Date(last.createdAt)),
    repos.memberships.advanceReadMarkers(chatId, latestBySender),
  ]);
}
