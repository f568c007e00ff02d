import { io, type Socket } from 'socket.io-client';
import { api, ApiError, describeError, refreshSession } from '../api';
import type { Ack, Chat, ClientEvents, Message, PublicUser, ServerEvents, UserInfo } from '../contract';
import { newClientMsgId } from '../lib/ids';
import { createStore, type Store } from '../lib/store';
import { hasGap, makePending, newestSeq, oldestSeq, type UiMessage } from '../state/messages';
import { initialState, reducer, type Action, type ChatState } from '../state/store';

type ChatSocket = Socket<ServerEvents, ClientEvents>;

export const PAGE_SIZE = 50;
const SYNC_PAGE = 100;
const ACK_TIMEOUT_MS = 10_000;
const TYPING_SEND_EVERY_MS = 2_500;
const TYPING_SHOW_FOR_MS = 4_000;
const STABLE_AFTER_MS = 10_000;

/** Network-shaped failures are retried by themselves when the connection comes back; refusals are not. */
function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 0 || err.status >= 500 || err.code === 'timeout';
  return true;
}

function toMessage(m: UiMessage): Message | null {
  if (m.id === null || m.seq === null) return null;
  return {
    id: m.id,
    chatId: m.chatId,
    seq: m.seq,
    senderId: m.senderId,
    text: m.text,
    clientMsgId: m.clientMsgId,
    createdAt: m.createdAt,
    ...(m.editedAt ? { editedAt: m.editedAt } : {}),
    ...(m.deletedAt ? { deletedAt: m.deletedAt } : {}),
  };
}

/**
 * Owns the socket and the store: turns socket events, REST replies and user intents into reducer
 * actions. React components read the store and call the methods below; they never touch the socket.
 */
export class ChatController {
  readonly store: Store<ChatState, Action>;
  private socket: ChatSocket | null = null;
  private readonly cleanups: Array<() => void> = [];
  private chatsReady: Promise<void> = Promise.resolve();
  private readonly typingSentAt = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  private readonly readTimers = new Map<string, number>();
  private readonly requestedUsers = new Set<string>();
  private readonly queuedUsers = new Set<string>();
  private userTimer: number | null = null;
  private readonly autoRetry = new Set<string>();
  private readonly detailsRequested = new Set<string>();
  private refusals = 0;
  private stableTimer: number | undefined;
  private refreshingChats: Promise<void> | null = null;
  private connectedBefore = false;
  private readonly clientId = newClientMsgId();

  constructor(
    readonly me: PublicUser,
    private readonly onSessionLost: () => void,
  ) {
    this.store = createStore(reducer, initialState(me.id));
    this.store.dispatch({
      type: 'users/loaded',
      users: [{ id: me.id, email: me.email, fullName: me.fullName }],
    });
  }

  private get state(): ChatState {
    return this.store.getState();
  }

  private dispatch(action: Action): void {
    this.store.dispatch(action);
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  start(): void {
    if (this.socket) return;
    this.chatsReady = this.refreshChats();
    const socket: ChatSocket = io({
      path: '/socket.io',
      withCredentials: true,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3_000,
      autoConnect: false,
      // Behind the cluster's nginx, `cid` keys sticky routing: every request of one Engine.IO session
      // (polling, then the upgrade) reaches the same realtime replica, whatever happens to the cookies.
      query: { cid: this.clientId },
    });
    this.socket = socket;
    this.bindSocket(socket);
    socket.connect();

    const onOffline = () => {
      // On localhost the engine does not watch the browser's network state; drop the link now rather
      // than after a ping timeout, so the banner shows and the catch-up runs as soon as we are back.
      if (socket.connected) socket.io.engine.close();
      this.dispatch({ type: 'connection', status: 'disconnected' });
    };
    const onOnline = () => {
      if (!socket.connected) {
        socket.disconnect();
        socket.connect();
      }
    };
    const onVisible = () => {
      const active = this.state.activeChatId;
      if (document.visibilityState === 'visible' && active) this.markRead(active);
    };
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    document.addEventListener('visibilitychange', onVisible);
    const sweep = window.setInterval(() => this.dispatch({ type: 'typing/expire', now: Date.now() }), 1_000);
    this.cleanups.push(
      () => window.removeEventListener('offline', onOffline),
      () => window.removeEventListener('online', onOnline),
      () => document.removeEventListener('visibilitychange', onVisible),
      () => window.clearInterval(sweep),
    );
  }

  stop(): void {
    window.clearTimeout(this.stableTimer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const timer of this.readTimers.values()) window.clearTimeout(timer);
    this.readTimers.clear();
    if (this.userTimer !== null) window.clearTimeout(this.userTimer);
    this.userTimer = null;
    this.socket?.removeAllListeners();
    this.socket?.io.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  async logout(): Promise<void> {
    try {
      await api.logout();
    } finally {
      this.stop();
    }
  }

  private bindSocket(socket: ChatSocket): void {
    socket.on('connect', () => {
      this.dispatch({ type: 'connection', status: 'connected' });
      void this.catchUp(this.connectedBefore);
      this.connectedBefore = true;
      // A connection that holds for a while ends a streak of refusals.
      window.clearTimeout(this.stableTimer);
      this.stableTimer = window.setTimeout(() => (this.refusals = 0), STABLE_AFTER_MS);
    });
    socket.on('disconnect', (reason) => {
      window.clearTimeout(this.stableTimer);
      // The server closed us on purpose (the access token expired, or the session was revoked): refresh the
      // session over HTTP and come back. That takes a moment, so no banner unless it drags on.
      if (reason === 'io server disconnect') {
        this.dispatch({ type: 'connection', status: 'connecting' });
        void this.recover(socket, true);
      } else {
        this.dispatch({ type: 'connection', status: 'disconnected' });
      }
    });
    socket.on('connect_error', (err) => {
      this.dispatch({ type: 'connection', status: 'disconnected' });
      // A refused handshake (not a network error) is not retried by socket.io itself.
      if (!socket.active) void this.recover(socket, err.message === 'unauthorized');
    });

    socket.on('chat:new', ({ message }) => this.ingest(message.chatId, [message]));
    socket.on('chat:updated', ({ message }) => this.dispatch({ type: 'message/changed', message }));
    socket.on('chat:deleted', ({ message }) => this.dispatch({ type: 'message/changed', message }));
    socket.on('chat:typing', ({ chatId, userId }) => {
      this.dispatch({ type: 'typing', chatId, userId, until: Date.now() + TYPING_SHOW_FOR_MS });
      this.ensureUsers([userId]);
    });
    socket.on('chat:read', ({ chatId, userId, seq }) => this.dispatch({ type: 'read', chatId, userId, seq }));
    socket.on('presence', ({ userId, online }) => this.dispatch({ type: 'presence', userId, online }));
    socket.on('chat:added', ({ chat }) => this.acceptChat(chat));
    socket.on('chat:removed', ({ chatId }) => this.dispatch({ type: 'chat/removed', chatId }));
  }

  /**
   * Comes back after the server closed or refused the socket: refresh the session when asked, then
   * reconnect. Repeated refusals back off (0, 1, 2, 4 … 30 s) so a server that keeps closing us is not
   * hammered; a session the server rejects sends the person back to the login form.
   */
  private async recover(socket: ChatSocket, refresh: boolean): Promise<void> {
    this.refusals += 1;
    const delay = this.refusals <= 1 ? 0 : Math.min(30_000, 500 * 2 ** (this.refusals - 1));
    if (delay > 0) await new Promise((resolve) => window.setTimeout(resolve, delay));
    if (this.socket !== socket || socket.connected) return;
    if (refresh) {
      const result = await refreshSession();
      if (result === 'rejected') {
        this.onSessionLost();
        return;
      }
      if (result === 'unreachable') {
        void this.recover(socket, true);
        return;
      }
    }
    if (this.socket === socket && !socket.connected) socket.connect();
  }

  // ── loading and catching up ───────────────────────────────────────────────

  /** Reloads the chat list (newest activity first, unread counts from the server). */
  refreshChats(): Promise<void> {
    this.refreshingChats ??= (async () => {
      try {
        const chats = await api.listChats();
        this.dispatch({ type: 'chats/loaded', chats });
        this.ensureUsers(
          chats.flatMap((c) => [
            ...(c.members ?? []).map((m) => m.userId),
            ...(c.lastMessage ? [c.lastMessage.senderId] : []),
          ]),
        );
        for (const c of chats) if (c.type === 'direct' && !c.members) void this.loadDetails(c.id);
      } catch (err) {
        console.warn('could not load chats', err);
      } finally {
        this.refreshingChats = null;
      }
    })();
    return this.refreshingChats;
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
      if (err instanceof ApiError && err.status === 404) this.dispatch({ type: 'chat/removed', chatId });
      else console.warn('could not load chat', chatId, err);
    }
  }

  private acceptChat(chat: Chat): void {
    const isNew = !this.state.chats[chat.id];
    this.dispatch({ type: 'chat/upsert', chat });
    if (isNew && this.socket?.connected) void this.loadPresence([chat.id]);
    if (chat.members) this.ensureUsers(chat.members.map((m) => m.userId));
    else void this.loadDetails(chat.id);
  }

  /**
   * After (re)connecting: ask for what each known chat missed with `chat:sync` from the last seq we hold,
   * resend messages that failed for want of a network, then reload the list (chats added while away,
   * server-side unread counts).
   */
  private async catchUp(reconnect: boolean): Promise<void> {
    await this.chatsReady;
    const state = this.state;
    const jobs = Object.values(state.chats).map((chat) => {
      const thread = state.threads[chat.id];
      const afterSeq = thread?.loaded ? Math.max(newestSeq(thread.items), 0) : chat.lastSeq;
      return this.syncChat(chat.id, afterSeq, thread?.loaded ? 50 : 1);
    });
    await Promise.all(jobs);
    for (const key of [...this.autoRetry]) {
      const [chatId, clientMsgId] = key.split('|') as [string, string];
      this.retry(chatId, clientMsgId);
    }
    if (reconnect) await this.refreshChats();
    await this.loadPresence(Object.keys(this.state.chats));
  }

  /** Who is online now in these chats; afterwards `presence` events keep it current. */
  async loadPresence(chatIds: readonly string[]): Promise<void> {
    await Promise.all(
      chatIds.map(async (chatId) => {
        try {
          const { online } = await this.emitWithAck<{ online: string[] }>((s, done) =>
            s.timeout(ACK_TIMEOUT_MS).emit('presence:get', { chatId }, (err, r) => done(err, r)),
          );
          const onlineSet = new Set(online);
          const members = this.state.chats[chatId]?.members?.map((m) => m.userId) ?? [];
          for (const userId of new Set([...members, ...online])) {
            if (userId !== this.me.id)
              this.dispatch({ type: 'presence', userId, online: onlineSet.has(userId) });
          }
        } catch (err) {
          console.warn('presence:get failed', chatId, err);
        }
      }),
    );
  }

  private emitWithAck<T extends object>(
    emit: (socket: ChatSocket, done: (err: Error | null, res?: Ack<T>) => void) => void,
  ): Promise<{ ok: true } & T> {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (!socket?.connected) {
        reject(new ApiError(0, 'network_error', 'Not connected.'));
        return;
      }
      emit(socket, (err, res) => {
        if (err || !res) reject(new ApiError(0, 'timeout', 'The server did not answer in time.'));
        else if (res.ok) resolve(res);
        else reject(new ApiError(400, res.error.code, res.error.message));
      });
    });
  }

  private async syncChat(chatId: string, afterSeq: number, maxRounds: number): Promise<void> {
    let after = afterSeq;
    for (let round = 0; round < maxRounds; round++) {
      let messages: Message[];
      try {
        const res = await this.emitWithAck<{ messages: Message[] }>((s, done) =>
          s.timeout(ACK_TIMEOUT_MS).emit('chat:sync', { chatId, afterSeq: after }, (err, r) => done(err, r)),
        );
        messages = res.messages;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'not_found')
          this.dispatch({ type: 'chat/removed', chatId });
        else console.warn('chat:sync failed', chatId, err);
        return;
      }
      this.ingest(chatId, messages, false);
      if (messages.length < SYNC_PAGE) return;
      after = messages[messages.length - 1]!.seq;
    }
  }

  private isViewing(chatId: string): boolean {
    return this.state.activeChatId === chatId && document.visibilityState === 'visible';
  }

  /** Every stored message, whatever brought it, goes through here. */
  private ingest(chatId: string, messages: Message[], checkGap = true): void {
    if (messages.length === 0) return;
    if (!this.state.chats[chatId]) {
      // A chat we were added to while the chat:added event was lost.
      void this.refreshChats();
    }
    const thread = this.state.threads[chatId];
    const gap = checkGap && thread?.loaded && hasGap(thread.items, messages);
    const viewing = this.isViewing(chatId);
    this.dispatch({ type: 'messages/received', chatId, messages, viewing });
    this.ensureUsers(messages.map((m) => m.senderId));
    if (gap && thread) void this.syncChat(chatId, newestSeq(thread.items), 50);
    if (viewing && messages.some((m) => m.senderId !== this.me.id)) this.markRead(chatId);
  }

  // ── threads ───────────────────────────────────────────────────────────────

  /** Shows a chat (null: back to the list on phones) and loads its newest page the first time. */
  openChat(chatId: string | null): void {
    this.dispatch({ type: 'active', chatId });
    if (!chatId) return;
    this.dispatch({ type: 'seen', chatId });
    const chat = this.state.chats[chatId];
    if (chat && !chat.members) void this.loadDetails(chatId);
    if (!this.state.threads[chatId]?.loaded) void this.loadLatest(chatId);
    else this.markRead(chatId);
  }

  async loadLatest(chatId: string): Promise<void> {
    try {
      const messages = await api.messages(chatId, { limit: PAGE_SIZE });
      this.dispatch({ type: 'thread/loaded', chatId, messages, mode: 'latest', limit: PAGE_SIZE });
      this.ensureUsers(messages.map((m) => m.senderId));
      this.markRead(chatId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.dispatch({ type: 'chat/removed', chatId });
      else console.warn('could not load messages', chatId, err);
    }
  }

  async loadOlder(chatId: string): Promise<void> {
    const thread = this.state.threads[chatId];
    if (!thread?.loaded || thread.loadingOlder || thread.reachedStart) return;
    const before = oldestSeq(thread.items);
    if (before === null) return;
    this.dispatch({ type: 'thread/loading-older', chatId, loading: true });
    try {
      const messages = await api.messages(chatId, { before, limit: PAGE_SIZE });
      this.dispatch({ type: 'thread/loaded', chatId, messages, mode: 'older', limit: PAGE_SIZE });
      this.ensureUsers(messages.map((m) => m.senderId));
    } catch (err) {
      console.warn('could not load older messages', chatId, err);
      this.dispatch({ type: 'thread/loading-older', chatId, loading: false });
    }
  }

  /** Tells the server (and my other tabs) how far I have read; coalesced per chat. */
  markRead(chatId: string): void {
    this.dispatch({ type: 'seen', chatId });
    if (this.readTimers.has(chatId)) return;
    const timer = window.setTimeout(() => {
      this.readTimers.delete(chatId);
      const seq = this.state.chats[chatId]?.lastSeq ?? 0;
      if (seq <= 0 || seq <= (this.readSent.get(chatId) ?? 0)) return;
      this.readSent.set(chatId, seq);
      if (this.socket?.connected) {
        this.socket.emit('chat:read', { chatId, seq });
      } else {
        api.markRead(chatId, seq).catch((err: unknown) => {
          this.readSent.delete(chatId);
          console.warn('could not mark read', err);
        });
      }
    }, 250);
    this.readTimers.set(chatId, timer);
  }

  // ── sending ───────────────────────────────────────────────────────────────

  /** Shows the message at once (pending), then stores it through the socket, or REST when offline. */
  send(chatId: string, text: string): void {
    const trimmed = text.trim();
    if (!trimmed) return;
    const clientMsgId = newClientMsgId();
    this.dispatch({
      type: 'message/pending',
      message: makePending({ chatId, senderId: this.me.id, text: trimmed, clientMsgId, now: new Date() }),
    });
    void this.deliver(chatId, trimmed, clientMsgId);
  }

  /** Sends a failed message again with the same clientMsgId: the server stores it at most once. */
  retry(chatId: string, clientMsgId: string): void {
    const item = this.state.threads[chatId]?.items.find(
      (m) => m.clientMsgId === clientMsgId && m.status !== 'sent',
    );
    this.autoRetry.delete(`${chatId}|${clientMsgId}`);
    if (!item) return;
    this.dispatch({ type: 'message/local-status', chatId, clientMsgId, status: 'pending' });
    void this.deliver(chatId, item.text, clientMsgId);
  }

  discard(chatId: string, clientMsgId: string): void {
    this.autoRetry.delete(`${chatId}|${clientMsgId}`);
    this.dispatch({ type: 'message/discard', chatId, clientMsgId });
  }

  private async deliver(chatId: string, text: string, clientMsgId: string, attempt = 1): Promise<void> {
    try {
      const message = this.socket?.connected
        ? (
            await this.emitWithAck<{ message: Message }>((s, done) =>
              s
                .timeout(ACK_TIMEOUT_MS)
                .emit('chat:send', { chatId, text, clientMsgId }, (err, r) => done(err, r)),
            )
          ).message
        : await api.sendMessage(chatId, text, clientMsgId);
      this.ingest(chatId, [message]);
      this.markRead(chatId);
    } catch (err) {
      // A lost ack while connected (the link died, or came back, in between): one more try at once;
      // the clientMsgId makes it safe.
      if (isTransient(err) && this.socket?.connected && attempt < 2) {
        return this.deliver(chatId, text, clientMsgId, attempt + 1);
      }
      const key = `${chatId}|${clientMsgId}`;
      if (isTransient(err)) this.autoRetry.add(key);
      if (isTransient(err) && !this.socket?.connected) {
        // Offline: keep it pending; it goes out by itself after the reconnect's catch-up.
        this.dispatch({
          type: 'message/local-status',
          chatId,
          clientMsgId,
          status: 'pending',
          error: 'Waiting for the connection…',
        });
        return;
      }
      this.dispatch({
        type: 'message/local-status',
        chatId,
        clientMsgId,
        status: 'failed',
        error: describeError(err),
      });
    }
  }

  /** Throttled: at most one `chat:typing` every 2.5 s per chat. */
  typing(chatId: string): void {
    const now = Date.now();
    if (now - (this.typingSentAt.get(chatId) ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.typingSentAt.set(chatId, now);
    if (this.socket?.connected) this.socket.emit('chat:typing', { chatId });
  }

  stoppedTyping(chatId: string): void {
    this.typingSentAt.delete(chatId);
  }

  async edit(chatId: string, messageId: string, text: string): Promise<void> {
    const message = await api.editMessage(chatId, messageId, text.trim());
    this.dispatch({ type: 'message/changed', message });
  }

  async remove(chatId: string, messageId: string): Promise<void> {
    await api.deleteMessage(chatId, messageId);
    const item = this.state.threads[chatId]?.items.find((m) => m.id === messageId);
    const message = item ? toMessage(item) : null;
    if (message) {
      this.dispatch({
        type: 'message/changed',
        message: { ...message, text: '', deletedAt: new Date().toISOString() },
      });
    }
  }

  // ── chats and people ──────────────────────────────────────────────────────

  async createDirect(userId: string): Promise<string> {
    const chat = await api.createDirect(userId);
    this.acceptChat(chat);
    return chat.id;
  }

  async createGroup(title: string, memberIds: string[]): Promise<string> {
    const chat = await api.createGroup(title.trim(), memberIds);
    this.acceptChat(chat);
    return chat.id;
  }

  async addMember(chatId: string, userId: string): Promise<void> {
    await api.addMember(chatId, userId);
    await this.loadDetails(chatId, true);
    void this.loadPresence([chatId]);
  }

  async leave(chatId: string): Promise<void> {
    await api.removeMember(chatId, this.me.id);
    this.dispatch({ type: 'chat/removed', chatId });
  }

  async searchUsers(q: string): Promise<UserInfo[]> {
    const users = await api.searchUsers(q);
    this.dispatch({ type: 'users/loaded', users });
    return users;
  }

  /** Fetches names for user ids we have not seen, batched into one request every few milliseconds. */
  ensureUsers(ids: readonly string[]): void {
    const known = this.state.users;
    for (const id of ids) {
      if (!id || known[id] || this.requestedUsers.has(id)) continue;
      this.requestedUsers.add(id);
      this.queuedUsers.add(id);
    }
    if (this.queuedUsers.size === 0 || this.userTimer !== null) return;
    this.userTimer = window.setTimeout(() => {
      this.userTimer = null;
      const batch = [...this.queuedUsers];
      this.queuedUsers.clear();
      for (let i = 0; i < batch.length; i += 50) {
        const slice = batch.slice(i, i + 50);
        api.usersByIds(slice).then(
          (users) => this.dispatch({ type: 'users/loaded', users }),
          (err: unknown) => {
            for (const id of slice) this.requestedUsers.delete(id);
            console.warn('could not load users', err);
          },
        );
      }
    }, 20);
  }
}
