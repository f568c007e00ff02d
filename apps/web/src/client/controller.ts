import { api } from '../api';
import type { ChatSummaryText, PublicUser, SearchResult, UserInfo } from '../contract';
import { AssistantClient } from './assistant';
import { newClientMsgId } from '../lib/ids';
import { Blocking } from './blocking';
import { createChatStore, type ChatStore } from './chat-store';
import { ChatSync } from './chat-sync';
import { Connection } from './connection';
import { Conversations } from './conversations';
import { Outbox, type SendExtras } from './outbox';
import { Presence } from './presence';
import { ReadMarkers } from './read-markers';
import { Threads } from './threads';
import { UserDirectory } from './user-directory';

/**
 * The client's one entry point for React: components read `store` and call the methods below; they never
 * touch the socket. Each concern lives in its own part (connection, chat sync, threads, outbox, presence
 * and typing, read markers, user names); this class wires them and orders the catch-up after a connection.
 */
export class ChatController {
  readonly store: ChatStore;
  private readonly connection: Connection;
  private readonly users: UserDirectory;
  private readonly reads: ReadMarkers;
  private readonly presence: Presence;
  private readonly sync: ChatSync;
  private readonly threads: Threads;
  private readonly outbox: Outbox;
  private readonly blocking: Blocking;
  private readonly conversations: Conversations;
  private readonly assistant: AssistantClient;
  private started = false;

  constructor(
    readonly me: PublicUser,
    onSessionLost: () => void,
  ) {
    const store = createChatStore(me);
    const connection = new Connection({
      store,
      clientId: newClientMsgId(),
      onSessionLost,
      onConnect: (reconnect) => void this.catchUp(reconnect),
      bindEvents: (socket) => {
        this.sync.bind(socket);
        this.reads.bind(socket);
        this.presence.bind(socket);
        this.conversations.bind(socket);
        this.assistant.bind(socket);
      },
    });
    const users = new UserDirectory(store);
    const reads = new ReadMarkers(store, connection);
    const presence = new Presence(store, connection, users, me.id);
    const sync = new ChatSync({ store, connection, users, reads, presence });
    this.store = store;
    this.connection = connection;
    this.users = users;
    this.reads = reads;
    this.presence = presence;
    this.sync = sync;
    this.threads = new Threads(store, sync, users, reads);
    this.outbox = new Outbox(store, connection, sync, reads);
    this.blocking = new Blocking(store, users);
    this.conversations = new Conversations(store, sync, users);
    this.assistant = new AssistantClient(store, connection, sync);
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  start(): void {
    if (this.started) return;
    this.started = true;
    this.sync.start();
    // Who I blocked, for the Block / Unblock buttons; a failure leaves them showing "Block" (idempotent).
    this.blocking.load().catch((err: unknown) => console.warn('could not load blocked users', err));
    void this.assistant.load();
    this.connection.start();
    this.reads.start();
    this.presence.start();
  }

  stop(): void {
    this.started = false;
    this.connection.stop();
    this.reads.stop();
    this.presence.stop();
    this.users.stop();
  }

  async logout(): Promise<void> {
    try {
      await api.logout();
    } finally {
      this.stop();
    }
  }

  /**
   * After (re)connecting: `chat:sync` for every known chat from the last seq held, then the messages that
   * failed for want of a network, then the list again after a reconnect (chats added while away,
   * server-side unread counts), then who is online.
   */
  private async catchUp(reconnect: boolean): Promise<void> {
    await this.sync.syncAll();
    this.outbox.resendWaiting();
    if (reconnect) this.assistant.resumeAll();
    if (reconnect) await this.sync.refreshChats();
    await this.presence.load(Object.keys(this.store.getState().chats));
  }

  /** The next page of the chat list (scrolled to its end); rejects when it could not be loaded. */
  loadMoreChats(): Promise<void> {
    return this.sync.loadMoreChats();
  }

  // ── threads ───────────────────────────────────────────────────────────────

  /** Shows a chat (null: back to the list on phones) and loads its newest page the first time. */
  openChat(chatId: string | null): void {
    this.threads.open(chatId);
  }

  loadOlder(chatId: string): Promise<void> {
    return this.threads.loadOlder(chatId);
  }

  // ── writing ───────────────────────────────────────────────────────────────

  /** Sends a message, optionally as a reply (`replyTo`) and with `mentions` (user ids). */
  send(chatId: string, text: string, extras?: SendExtras): void {
    this.outbox.send(chatId, text, extras);
  }

  retry(chatId: string, clientMsgId: string): void {
    this.outbox.retry(chatId, clientMsgId);
  }

  discard(chatId: string, clientMsgId: string): void {
    this.outbox.discard(chatId, clientMsgId);
  }

  edit(chatId: string, messageId: string, text: string): Promise<void> {
    return this.outbox.edit(chatId, messageId, text);
  }

  remove(chatId: string, messageId: string): Promise<void> {
    return this.outbox.remove(chatId, messageId);
  }

  typing(chatId: string): void {
    this.presence.typing(chatId);
  }

  stoppedTyping(chatId: string): void {
    this.presence.stoppedTyping(chatId);
  }

  // ── chats and people ──────────────────────────────────────────────────────

  async createDirect(userId: string): Promise<string> {
    const chat = await api.createDirect(userId);
    this.sync.acceptChat(chat);
    return chat.id;
  }

  async createGroup(title: string, memberIds: string[]): Promise<string> {
    const chat = await api.createGroup(title.trim(), memberIds);
    this.sync.acceptChat(chat);
    return chat.id;
  }

  async addMember(chatId: string, userId: string): Promise<void> {
    await api.addMember(chatId, userId);
    await this.sync.loadDetails(chatId, true);
    void this.presence.load([chatId]);
  }

  async leave(chatId: string): Promise<void> {
    await api.removeMember(chatId, this.me.id);
    this.store.dispatch({ type: 'chat/removed', chatId });
  }

  searchUsers(q: string): Promise<UserInfo[]> {
    return this.users.search(q);
  }

  // ── blocking ──────────────────────────────────────────────────────────────

  /** The blocked list from its first page (`more`: the next page). */
  loadBlocked(more = false): Promise<void> {
    return this.blocking.load(more);
  }

  block(userId: string): Promise<void> {
    return this.blocking.block(userId);
  }

  unblock(userId: string): Promise<void> {
    return this.blocking.unblock(userId);
  }

  // ── conversations (replies, reactions, rename, search) ────────────────────

  /** Opens the chat at a message (loading history back to it) and highlights it; false when not found. */
  showMessage(chatId: string, messageId: string, seq?: number): Promise<boolean> {
    return this.threads.showMessage(chatId, messageId, seq);
  }

  toggleReaction(chatId: string, messageId: string, emoji: string): Promise<void> {
    return this.conversations.toggleReaction(chatId, messageId, emoji);
  }

  rename(chatId: string, title: string): Promise<void> {
    return this.conversations.rename(chatId, title);
  }

  searchMessages(q: string, chatId?: string): Promise<SearchResult[]> {
    return this.conversations.search(q, chatId);
  }

  // ── the assistant ─────────────────────────────────────────────────────────

  createAssistantChat(): Promise<string> {
    return this.assistant.createChat();
  }

  stopAnswer(streamId: string): Promise<void> {
    return this.assistant.stop(streamId);
  }

  /** "Catch me up": a summary of what I have not read. */
  catchMeUp(chatId: string): Promise<ChatSummaryText> {
    return this.assistant.summary(chatId);
  }
}
