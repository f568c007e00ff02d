import { AppError, type Message, type SendMessageBody } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { blockedByUser, requireMembership } from './access';
import type { UseCaseDeps } from './deps';
import { checkMessageReferences } from './message-references';

/**
 * POST /api/chats/:chatId/messages (and realtime's chat:send through it). Stores the message with the
 * chat's next seq and publishes chat:new before answering; its bookkeeping follows (record-stored-messages.ts). The same
 * clientMsgId from the same sender returns the stored original (created: false) and publishes nothing: a
 * retry after a lost answer is harmless, and free: it is never refused by the send limit and costs no budget.
 * Into a direct chat whose other member blocked the sender: 403 `blocked`.
 */
export async function sendMessage(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  body: SendMessageBody,
): Promise<{ message: Message; created: boolean }> {
  const { repos, sequencer, sendLimiter, events, recentMembers, chatTypes, triggers } = deps;
  // Read once per chat and process (a type never changes), in parallel with the checks below.
  const chatType = chatTypes.get(chatId);
  // A send the checks refuse must not leave this rejection unhandled; the value is awaited below.
  chatType.catch(() => undefined);
  if (!recentMembers.has(chatId, caller.userId)) {
    const mark = recentMembers.mark();
    // Both point lookups at once: a send that is not cached costs one round trip, as before blocking existed.
    // A non-member gets the 404 whatever the block says (no hint that the chat exists). Only a direct chat can
    // refuse a send for a block: where the type is known to be another, that read is not made.
    const knownType = chatTypes.peek(chatId);
    const [, blocked] = await Promise.all([
      requireMembership(repos, chatId, caller.userId),
      knownType === undefined || knownType === 'direct'
        ? repos.blocks.blocksDirectSend(chatId, caller.userId)
        : false,
    ]);
    if (blocked) throw blockedByUser();
    // A removal or block forgets this entry at once, made through this process or another (over the bus).
    recentMembers.remember(chatId, caller.userId, mark);
  }
  // replyTo and mentions before the limit: a refused reference stores nothing and costs no budget.
  const references = await checkMessageReferences(repos, chatId, caller.userId, body);
  try {
    await sendLimiter.consume(caller.userId);
  } catch (err) {
    // Over the limit: a retry of a stored message still gets its original (a 429 there would make the
    // client show a delivered message as failed). Looked up only here, so a fresh send pays no extra read.
    if (err instanceof AppError && err.status === 429) {
      const stored = await repos.messages.findByClientMsgId(chatId, caller.userId, body.clientMsgId);
      if (stored) return { message: stored, created: false };
    }
    throw err;
  }
  // No pre-read of (chatId, senderId, clientMsgId): the sequencer's insert is refused by that unique index
  // for a retry and answers with the stored original, so a fresh send (the common case) costs one store
  // round trip less; the point that retry took is given back below.
  const type = await chatType;
  const result = await sequencer.append(
    chatId,
    { senderId: caller.userId, text: body.text, clientMsgId: body.clientMsgId, ...references },
    (message) => {
      events.publish({ type: 'chat:new', chatId, message });
      triggers.afterStored(type, message);
    },
  );
  if (!result.created) await sendLimiter.refund(caller.userId);
  return result;
}
