import type { UseCaseDeps } from './deps';

/** How many candidates one question may name: a page of user search (≤ 50). */
export const SHARED_CHAT_CANDIDATES_MAX = 50;
/** A candidate's most recently active chats looked at; a shared chat is most likely among them. */
const CHATS_PER_CANDIDATE = 20;
/** Chat ids per `$in`: the store keeps point lookups on the index well below 512 values. */
const CHATS_PER_QUERY = 500;

/**
 * POST /internal/shared-chat-users (auth's user search): which of `candidateIds` share a chat with the caller.
 * Bounded whatever anyone's chat count: one walk of at most CHATS_PER_CANDIDATE rows of user_activity per
 * candidate, then point lookups of the caller's membership of those chats on chat_user_unique. A shared chat
 * that is not among a candidate's recent ones is missed: the caller then sees no email (fail closed).
 */
export async function findSharedChatUsers(
  { repos }: UseCaseDeps,
  callerId: string,
  candidateIds: readonly string[],
): Promise<string[]> {
  const candidates = [...new Set(candidateIds)].filter((id) => id !== callerId);
  const chatsOf = await Promise.all(
    candidates.map(async (userId) => ({
      userId,
      chatIds: (await repos.memberships.pageByActivity(userId, CHATS_PER_CANDIDATE)).map((m) => m.chatId),
    })),
  );
  const allChatIds = [...new Set(chatsOf.flatMap((c) => c.chatIds))];
  const chunks: string[][] = [];
  for (let i = 0; i < allChatIds.length; i += CHATS_PER_QUERY)
    chunks.push(allChatIds.slice(i, i + CHATS_PER_QUERY));
  const mine = new Set<string>();
  for (const found of await Promise.all(chunks.map((c) => repos.memberships.chatsWithMember(c, callerId))))
    for (const chatId of found) mine.add(chatId);
  return chatsOf.filter((c) => c.chatIds.some((chatId) => mine.has(chatId))).map((c) => c.userId);
}
