import type { UseCaseDeps } from './deps';

/** GET /internal/memberships: the chats whose rooms realtime joins a user's sockets to. */
export async function listMyChatIds({ repos }: UseCaseDeps, userId: string): Promise<string[]> {
  const mine = await repos.memberships.listByUser(userId);
  return mine.map((m) => m.chatId);
}
