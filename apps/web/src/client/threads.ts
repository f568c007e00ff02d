import { api, ApiError } from '../api';
import { oldestSeq } from '../state/messages';
import type { ChatStore } from './chat-store';
import type { ChatSync } from './chat-sync';
import type { ReadMarkers } from './read-markers';
import type { UserDirectory } from './user-directory';

const PAGE_SIZE = 50;

/** The open conversation: its newest page when first shown, older pages on scroll up. */
export class Threads {
  constructor(
    private readonly store: ChatStore,
    private readonly sync: ChatSync,
    private readonly users: UserDirectory,
    private readonly reads: ReadMarkers,
  ) {}

  /** Shows a chat (null: back to the list on phones) and loads its newest page the first time. */
  open(chatId: string | null): void {
    this.store.dispatch({ type: 'active', chatId });
    if (!chatId) return;
    this.store.dispatch({ type: 'seen', chatId });
    const state = this.store.getState();
    const chat = state.chats[chatId];
    if (chat && !chat.members) void this.sync.loadDetails(chatId);
    if (!state.threads[chatId]?.loaded) void this.loadLatest(chatId);
    else this.reads.markRead(chatId);
  }

  async loadLatest(chatId: string): Promise<void> {
    try {
      const messages = await api.messages(chatId, { limit: PAGE_SIZE });
      this.store.dispatch({ type: 'thread/loaded', chatId, messages, mode: 'latest', limit: PAGE_SIZE });
      this.users.ensure(messages.map((m) => m.senderId));
      this.reads.markRead(chatId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404)
        this.store.dispatch({ type: 'chat/removed', chatId });
      else console.warn('could not load messages', chatId, err);
    }
  }

  async loadOlder(chatId: string): Promise<void> {
    const thread = this.store.getState().threads[chatId];
    if (!thread?.loaded || thread.loadingOlder || thread.reachedStart) return;
    const before = oldestSeq(thread.items);
    if (before === null) return;
    this.store.dispatch({ type: 'thread/loading-older', chatId, loading: true });
    try {
      const messages = await api.messages(chatId, { before, limit: PAGE_SIZE });
      this.store.dispatch({ type: 'thread/loaded', chatId, messages, mode: 'older', limit: PAGE_SIZE });
      this.users.ensure(messages.map((m) => m.senderId));
    } catch (err) {
      console.warn('could not load older messages', chatId, err);
      this.store.dispatch({ type: 'thread/loading-older', chatId, loading: false });
    }
  }
}
