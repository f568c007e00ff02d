import { api, ApiError } from '../api';
import type { Chat, ChatSummary, Message } from '../contract';
import { forEachLimited } from '../lib/limit';
import { hasGap, newestSeq } from '../state/messages';
import type { ChatStore } from './chat-store';
import { ACK_TIMEOUT_MS, type ChatSocket, type Connection } from './connection';
import type { Presence } from './presence';
import type { ReadMarkers } from './read-markers';
import type { UserDirectory } from './user-directory';

/** `chat:sync` answers at most this many messages; a full page means there may be more. */
const SYNC_PAGE = 100;
/** Chats per page of `GET /api/chats` (the server's default; at most 100). */
export const CHAT_PAGE = 50;
/** Socket requests in flight at once during a catch-up: the per-user event budget is shared by every tab. */
const CATCH_UP_CONCURRENCY = 6;

export interface ChatSyncDeps {
  store: ChatStore;
  connection: Connection;
  users: UserDirectory;
  reads: ReadMarkers;
  presence: Presence;
}

/**
 * The chat list and the messages in it, kept in step with the server: the list and each chat's details
 * over REST, live events as they come, and `chat:sync` from the last seq held after every (re)connection
 * or when a live event shows a gap. Every stored message, whatever brought it, goes through `ingest`.
 */
export class ChatSync {
  private chatsReady: Promise<void> = Promise.resolve();
  private refreshing: Promise<void> | null = null;
  private loadingMore: Promise<void> | null = null;
  private readonly detailsRequested = new Set<string>();
  /** Chats a message arrived for before they were held: looked up once each. */
  private readonly discovering = new Set<string>();

  constructor(private readonly deps: ChatSyncDeps) {}

  private get store(): ChatStore {
    return this.deps.store;
  }

  /** Loads the list; the first catch-up waits for it, so it knows which chats to sync. */
  start(): void {
    this.chatsReady = this.refreshChats();
  }

  bind(socket: ChatSocket): void {
    socket.on('chat:new', ({ message }) => this.ingest(message.chatId, [message]));
    socket.on('chat:updated', ({ message }) => this.store.dispatch({ type: 'message/changed', message }));
    socket.on('chat:deleted', ({ message }) => this.store.dispatch({ type: 'message/changed', message }));
    socket.on('chat:added', ({ chat }) => this.acceptChat(chat));
    socket.on('chat:removed', ({ chatId }) => this.store.dispatch({ type: 'chat/removed', chatId }));
  }

  /**
   * Reloads the first page of the list (newest activity first, unread counts from the server); single-flight.
   * Later pages already held stay (the reducer's `chats/loaded` says which chats it drops).
   */
  refreshChats(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const page = await api.listChats({ limit: CHAT_PAGE });
        this.store.dispatch({ type: 'chats/loaded', chats: page.chats, nextCursor: page.nextCursor });
        this.acceptSummaries(page.chats);
      } catch (err) {
        console.warn('could not load chats', err);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** The next page of the list (scrolled to its end, or "Load more"); single-flight, nothing once all are held. */
  loadMoreChats(): Promise<void> {
    const { chatsCursor, chatsLoaded } = this.store.getState();
    if (!chatsLoaded || chatsCursor === null) return Promise.resolve();
    this.loadingMore ??= (async () => {
      this.store.dispatch({ type: 'chats/loading-more', loading: true });
      try {
        const page = await api.listChats({ limit: CHAT_PAGE, cursor: chatsCursor });
        this.store.dispatch({ type: 'chats/page', chats: page.chats, nextCursor: page.nextCursor });
        this.acceptSummaries(page.chats);
        // The catch-up asked who is online only in the chats held then; these are new to us.
        if (this.deps.connection.connected) {
          void this.deps.presence.load(page.chats.map((c) => c.id));
        }
      } catch (err) {
        console.warn('could not load more chats', err);
        this.store.dispatch({ type: 'chats/loading-more', loading: false });
        throw err;
      } finally {
        this.loadingMore = null;
      }
    })();
    return this.loadingMore;
  }

  /** Names for the people a page of summaries shows, and members for direct chats (their title). */
  private acceptSummaries(chats: readonly ChatSummary[]): void {
    this.deps.users.ensure(
      chats.flatMap((c) => [
        ...(c.members ?? []).map((m) => m.userId),
        ...(c.lastMessage ? [c.lastMessage.senderId] : []),
      ]),
    );
    for (const c of chats) if (c.type === 'direct' && !c.members) void this.loadDetails(c.id);
  }

  /**
   * A message for a chat not held (beyond the pages loaded, or added while `chat:added` was lost): it now has
   * the newest activity, so it is on the first page; a reload started before it was stored may miss it, so
   * the chat itself is fetched when the reload did not bring it.
   */
  private async discover(chatId: string): Promise<void> {
    if (this.discovering.has(chatId)) return;
    this.discovering.add(chatId);
    try {
      await this.refreshing;
      await this.refreshChats();
      if (!this.store.getState().chats[chatId]) await this.loadDetails(chatId, true);
    } finally {
      this.discovering.delete(chatId);
    }
  }

  /** Fetches a chat with its members (names for direct chats, the member list, read markers). */
  async loadDetails(chatId: string, force = false): Promise<void> {
    if (this.detailsRequested.has(chatId) && !force) return;
    this.detailsRequested.add(chatId);
    try {
      const chat = await api.getChat(chatId);
      this.acceptChat(chat);
    } catch (err) {
      this.detailsRequested.delete(chatId);
      if (err instanceof ApiError && err.status === 404)
        this.store.dispatch({ type: 'chat/removed', chatId });
      else console.warn('could not load chat', chatId, err);
    }
  }

  /** A chat created, joined or fetched: into the list, with its people's names and presence. */
  acceptChat(chat: Chat): void {
    const isNew = !this.store.getState().chats[chat.id];
    this.store.dispatch({ type: 'chat/upsert', chat });
    if (isNew && this.deps.connection.connected) void this.deps.presence.load([chat.id]);
    if (chat.members) this.deps.users.ensure(chat.members.map((m) => m.userId));
    else void this.loadDetails(chat.id);
  }

  /** After (re)connecting: asks each known chat for what it missed, from the last seq we hold. */
  async syncAll(): Promise<void> {
    await this.chatsReady;
    const state = this.store.getState();
    await forEachLimited(Object.values(state.chats), CATCH_UP_CONCURRENCY, (chat) => {
      const thread = state.threads[chat.id];
      const afterSeq = thread?.loaded ? Math.max(newestSeq(thread.items), 0) : chat.lastSeq;
      return this.syncChat(chat.id, afterSeq, thread?.loaded ? 50 : 1);
    });
  }

  /** Every stored message, whatever brought it, goes through here. */
  ingest(chatId: string, messages: Message[], checkGap = true): void {
    if (messages.length === 0) return;
    const state = this.store.getState();
    if (!state.chats[chatId]) void this.discover(chatId);
    const thread = state.threads[chatId];
    const gap = checkGap && thread?.loaded && hasGap(thread.items, messages);
    const viewing = this.deps.reads.isViewing(chatId);
    this.store.dispatch({ type: 'messages/received', chatId, messages, viewing });
    this.deps.users.ensure(messages.map((m) => m.senderId));
    if (gap && thread) void this.syncChat(chatId, newestSeq(thread.items), 50);
    if (viewing && messages.some((m) => m.senderId !== state.meId)) this.deps.reads.markRead(chatId);
  }

  private async syncChat(chatId: string, afterSeq: number, maxRounds: number): Promise<void> {
    let after = afterSeq;
    for (let round = 0; round < maxRounds; round++) {
      let messages: Message[];
      try {
        const res = await this.deps.connection.emitPaced<{ messages: Message[] }>((s, done) =>
          s.timeout(ACK_TIMEOUT_MS).emit('chat:sync', { chatId, afterSeq: after }, (err, r) => done(err, r)),
        );
        messages = res.messages;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404)
          this.store.dispatch({ type: 'chat/removed', chatId });
        else console.warn('chat:sync failed', chatId, err);
        return;
      }
      this.ingest(chatId, messages, false);
      if (messages.length < SYNC_PAGE) return;
      after = messages[messages.length - 1]!.seq;
    }
  }
}
