import { AppError, ASSISTANT_USER_ID, type Message, type MessageAi } from '@cohort/common';
import type { Caller } from '../domain/caller';
import { requireMembership } from './access';
import { checkReplyTo } from './message-references';
import type { UseCaseDeps } from './deps';

export interface AnswerDraft {
  text: string;
  clientMsgId: string;
  replyTo: string;
  ai: MessageAi;
}

/**
 * POST /internal/chats/:chatId/answers: the assistant stores an answer as an ordinary message of its own (seq,
 * `chat:new`, synced and listed like any other), with `message.ai` saying how it ended. Only the assistant may
 * (its own forwarding key and user id: routes/internal.routes.ts), only in a chat it is a member of, only in reply
 * to a message of that chat. Idempotent on the clientMsgId (the assistant derives it from the trigger): a second
 * attempt answers with the stored original, so a trigger never gets two answers. No send limit: the assistant's
 * answers are bounded by the users' triggers and their token budgets.
 */
export async function storeAnswer(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  draft: AnswerDraft,
): Promise<{ message: Message; created: boolean }> {
  if (caller.userId !== ASSISTANT_USER_ID) throw AppError.forbidden('Only the assistant stores answers');
  const { repos, sequencer, events } = deps;
  await requireMembership(repos, chatId, caller.userId);
  const stored = await repos.messages.findByClientMsgId(chatId, caller.userId, draft.clientMsgId);
  if (stored) return { message: stored, created: false };
  const replyTo = await checkReplyTo(repos, chatId, draft.replyTo);
  return sequencer.append(
    chatId,
    { senderId: caller.userId, text: draft.text, clientMsgId: draft.clientMsgId, replyTo, ai: draft.ai },
    (message) => events.publish({ type: 'chat:new', chatId, message }),
  );
}
