import { AppError } from '@cohort/common';
import { blockedByUser } from './access';
import type { Repositories } from './deps';

/** What a send stores besides its text: the message replied to and the users mentioned (deduplicated). */
export interface MessageReferences {
  replyTo?: string;
  mentions?: string[];
}

const invalidReply = () =>
  AppError.badRequest('replyTo must be the id of a message of this chat', 'invalid_reply');

/**
 * `replyTo` must name a message of this chat: the lookup is scoped by chatId, so another chat's message (even
 * one the caller can read) or an unknown id is the same 400. A deleted message may still be replied to: a
 * retried send must get the same answer as the first one.
 */
export async function checkReplyTo(repos: Repositories, chatId: string, replyTo: string): Promise<string> {
  const id = replyTo.toLowerCase();
  if (!(await repos.messages.findById(chatId, id))) throw invalidReply();
  return id;
}

/**
 * Every mentioned user must be a member of the chat (400 `invalid_mention`, naming the others in
 * `details.userIds`), and none may have blocked the sender (403 `blocked`: docs/security.md says a blocked
 * user's mentions of the blocker are refused, and `blocked` is what a direct message to them answers).
 * Both are point lookups on unique indexes, at most 50 each.
 */
export async function checkMentions(
  repos: Repositories,
  chatId: string,
  senderId: string,
  mentions: readonly string[],
): Promise<string[]> {
  const unique = [...new Set(mentions.map((id) => id.toLowerCase()))];
  if (unique.length === 0) return [];
  const [members, blockers] = await Promise.all([
    repos.memberships.membersAmong(chatId, unique),
    repos.blocks.whoBlocked(senderId, unique),
  ]);
  const strangers = unique.filter((id) => !members.has(id));
  if (strangers.length > 0) {
    throw AppError.badRequest('Only members of this chat can be mentioned', 'invalid_mention', {
      userIds: strangers,
    });
  }
  if (blockers.length > 0) throw blockedByUser();
  return unique;
}

/**
 * Checks a send's `replyTo` and `mentions`, for a caller already known to be a member. A send without either
 * (the common case) costs no read.
 */
export async function checkMessageReferences(
  repos: Repositories,
  chatId: string,
  senderId: string,
  body: { replyTo?: string | undefined; mentions?: readonly string[] | undefined },
): Promise<MessageReferences> {
  const [replyTo, mentions] = await Promise.all([
    body.replyTo === undefined ? undefined : checkReplyTo(repos, chatId, body.replyTo),
    body.mentions === undefined ? undefined : checkMentions(repos, chatId, senderId, body.mentions),
  ]);
  return {
    ...(replyTo ? { replyTo } : {}),
    ...(mentions && mentions.length > 0 ? { mentions } : {}),
  };
}
