import { api } from '../api';
import type { ChatStore } from './chat-store';
import type { ChatSocket, Connection } from './connection';

const COALESCE_MS = 250;

/** How far I have read: sent while viewing a chat (coalesced per chat), and others' markers received. */
export class ReadMarkers {
  private readonly sent = new Map<string, number>();
  private readonly timers = new Map<string, number>();
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly store: ChatStore,
    private readonly connection: Connection,
  ) {}

  start(): void {
    const onVisible = () => {
      const active = this.store.getState().activeChatId;
      if (document.visibilityState === 'visible' && active) this.markRead(active);
    };
    document.addEventListener('visibilitychange', onVisible);
    this.cleanups.push(() => document.removeEventListener('visibilitychange', onVisible));
  }

  stop(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const timer of this.timers.values()) window.clearTimeout(timer);
    this.timers.clear();
  }

  bind(socket: ChatSocket): void {
    socket.on('chat:read', ({ chatId, userId, seq }) =>
      this.store.dispatch({ type: 'read', chatId, userId, seq }),
    );
  }

  /** The chat is open and the page is in front: what arrives there is read. */
  isViewing(chatId: string): boolean {
    return this.store.getState().activeChatId === chatId && document.visibilityState === 'visible';
  }

  /** Tells the server (and my other tabs) how far I have read; coalesced per chat. */
  markRead(chatId: string): void {
    this.store.dispatch({ type: 'seen', chatId });
    if (this.timers.has(chatId)) return;
    const timer = window.setTimeout(() => {
      this.timers.delete(chatId);
      const seq = this.store.getState().chats[chatId]?.lastSeq ?? 0;
      if (seq <= 0 || seq <= (this.sent.get(chatId) ?? 0)) return;
      this.sent.set(chatId, seq);
      const emitted = this.connection.whenConnected((socket) => socket.emit('chat:read', { chatId, seq }));
      if (!emitted) {
        api.markRead(chatId, seq).catch((err: unknown) => {
          this.sent.delete(chatId);
          console.warn('could not mark read', err);
        });
      }
    }, COALESCE_MS);
    this.timers.set(chatId, timer);
  }
}
