import { api } from '../api';
import type { SearchResult } from '../contract';
import type { ChatStore } from './chat-store';
import type { ChatSocket } from './connection';
import type { ChatSync } from './chat-sync';
import type { UserDirectory } from './user-directory';

/** Renames, reactions and message search (DESIGN §8); the live events that go with them. */
export class Conversations {
  constructor(
    private readonly store: ChatStore,
    private readonly sync: ChatSync,
    private readonly users: UserDirectory,
  ) {}

  bind(socket: ChatSocket): void {
    socket.on('chat:changed', ({ chat }) => this.store.dispatch({ type: 'chat/upsert', chat }));
    socket.on('chat:reactions', ({ chatId, messageId, reactions, reactionsVersion }) => {
      this.store.dispatch({ type: 'message/reactions', chatId, messageId, reactions, reactionsVersion });
      this.users.ensure(reactions.flatMap((r) => r.userIds));
    });
  }

  async rename(chatId: string, title: string): Promise<void> {
    const chat = await api.rename(chatId, title.trim());
    this.sync.acceptChat(chat);
  }

  /**
   * Adds my reaction, or takes it back when I already reacted with that emoji. The summary comes back as
   * `chat:reactions` (to every member, me included), which is what updates the counts.
   */
  async toggleReaction(chatId: string, messageId: string, emoji: string): Promise<void> {
    const { meId, threads } = this.store.getState();
    const message = threads[chatId]?.items.find((m) => m.id === messageId);
    const mine = message?.reactions?.some((r) => r.emoji === emoji && r.userIds.includes(meId)) ?? false;
    if (mine) await api.unreact(chatId, messageId, emoji);
    else await api.react(chatId, messageId, emoji);
  }

  async search(q: string, chatId?: string): Promise<SearchResult[]> {
    const results = await api.searchMessages(q, chatId ? { chatId, limit: 20 } : { limit: 20 });
    this.users.ensure(results.map((r) => r.message.senderId));
    // Results may come from chats beyond the pages of the list held: fetch those so they have a title.
    for (const chatId of new Set(results.map((r) => r.chatId))) {
      if (!this.store.getState().chats[chatId]) void this.sync.loadDetails(chatId);
    }
    return results;
  }
}
