import { api, ApiError } from '../api';
import { oldestSeq } from '../state/messages';
import type { ChatStore } from './chat-store';
import type { ChatSync } from './chat-sync';
import type { ReadMarkers } from './read-markers';
import type { UserDirectory } from './user-directory';

const PAGE_SIZE = 50;
/** Pages of history fetched when jumping to an older message (a reply's original, a search result). */
const JUMP_PAGE = 100;
const JUMP_MAX_PAGES = 30;

/** The open conversation: its newest page when first shown, older pages on scroll up. */
export class Threads {
  private readonly latest = new Map<string, Promise<void>>();

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

  /** The newest page, single-flight per chat. */
  loadLatest(chatId: string): Promise<void> {
    let running = this.latest.get(chatId);
    if (!running) {
      running = this.fetchLatest(chatId).finally(() => this.latest.delete(chatId));
      this.latest.set(chatId, running);
    }
    return running;
  }

  private async fetchLatest(chatId: string): Promise<void> {
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

  /**
   * Opens a chat at one message: loads history back to it (`?before=`, keeping the list contiguous) when it is
   * not held yet, then asks the list to scroll to it and highlight it. `seq`, when known (a search result), stops
   * the walk as soon as the history reaches it. False when it could not be found (deleted, or too far back).
   */
  async showMessage(chatId: string, messageId: string, seq?: number): Promise<boolean> {
    if (this.store.getState().activeChatId !== chatId) this.open(chatId);
    if (!this.store.getState().threads[chatId]?.loaded) await this.loadLatest(chatId);
    for (let page = 0; page <= JUMP_MAX_PAGES; page++) {
      const thread = this.store.getState().threads[chatId];
      if (!thread?.loaded) return false;
      if (thread.items.some((m) => m.id === messageId)) {
        this.store.dispatch({ type: 'focus', chatId, messageId });
        return true;
      }
      const before = oldestSeq(thread.items);
      if (thread.reachedStart || before === null || (seq !== undefined && before <= seq)) return false;
      if (page === JUMP_MAX_PAGES) return false;
      const limit = seq !== undefined ? Math.min(JUMP_PAGE, Math.max(1, before - seq + 10)) : JUMP_PAGE;
      const messages = await api.messages(chatId, { before, limit });
      this.store.dispatch({ type: 'thread/loaded', chatId, messages, mode: 'older', limit });
      this.users.ensure(messages.map((m) => m.senderId));
    }
    return false;
  }
}
