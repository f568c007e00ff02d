import { AppError, REACTIONS_MAX_DISTINCT } from '@cohort/common';
import type { Caller } from '../domain/caller';
import type { ReactionOutcome } from '../data/message.repository';
import { requireMembership } from './access';
import type { UseCaseDeps } from './deps';
import { messageDeleted, messageNotFound } from './edit-message';

const tooManyReactions = () =>
  AppError.badRequest(
    `A message carries at most ${REACTIONS_MAX_DISTINCT} distinct emoji: react with one already there`,
    'too_many_reactions',
  );

/**
 * Publishes `chat:reactions` with the message's whole summary after a change (a late or reconnecting client
 * rebuilds the state from any one event, or from the message itself); an idempotent repeat publishes nothing.
 * `reactionsVersion` grows with each change in the same update, so a client keeps the highest summary it saw,
 * however the bus interleaves concurrent changes.
 */
function settle(deps: UseCaseDeps, chatId: string, outcome: ReactionOutcome): void {
  switch (outcome.status) {
    case 'not_found':
      throw messageNotFound();
    case 'deleted':
      throw messageDeleted();
    case 'full':
      throw tooManyReactions();
    case 'unchanged':
      return;
    case 'changed':
      deps.events.publish({
        type: 'chat:reactions',
        chatId,
        messageId: outcome.message.id,
        reactions: outcome.message.reactions ?? [],
        reactionsVersion: outcome.message.reactionsVersion ?? 1,
      });
  }
}

/** PUT /api/chats/:chatId/messages/:messageId/reactions/:emoji: any member; idempotent. */
export async function addReaction(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  messageId: string,
  emoji: string,
): Promise<void> {
  await requireMembership(deps.repos, chatId, caller.userId);
  const outcome = await deps.repos.messages.addReaction(
    chatId,
    messageId,
    emoji,
    caller.userId,
    REACTIONS_MAX_DISTINCT,
  );
  settle(deps, chatId, outcome);
}

/** DELETE /api/chats/:chatId/messages/:messageId/reactions/:emoji: takes back my reaction; idempotent. */
export async function removeReaction(
  deps: UseCaseDeps,
  caller: Caller,
  chatId: string,
  messageId: string,
  emoji: string,
): Promise<void> {
  await requireMembership(deps.repos, chatId, caller.userId);
  settle(deps, chatId, await deps.repos.messages.removeReaction(chatId, messageId, emoji, caller.userId));
}
