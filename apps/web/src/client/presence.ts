import { forEachLimited } from '../lib/limit';
import type { ChatStore } from './chat-store';
import { ACK_TIMEOUT_MS, type ChatSocket, type Connection } from './connection';
import type { UserDirectory } from './user-directory';

const TYPING_SEND_EVERY_MS = 2_500;
const TYPING_SHOW_FOR_MS = 4_000;
const TYPING_SWEEP_MS = 1_000;
/** `presence:get` requests in flight at once: the per-user event budget is shared by every tab. */
const PRESENCE_CONCURRENCY = 6;

/** Who is online and who is typing: asked for after each connection, then kept current by events. */
export class Presence {
  private readonly typingSentAt = new Map<string, number>();
  private sweep: number | undefined;

  constructor(
    private readonly store: ChatStore,
    private readonly connection: Connection,
    private readonly users: UserDirectory,
    private readonly meId: string,
  ) {}

  start(): void {
    // Typing indicators expire by themselves: nobody announces that they stopped.
    this.sweep = window.setInterval(
      () => this.store.dispatch({ type: 'typing/expire', now: Date.now() }),
      TYPING_SWEEP_MS,
    );
  }

  stop(): void {
    window.clearInterval(this.sweep);
    this.sweep = undefined;
  }

  bind(socket: ChatSocket): void {
    socket.on('chat:typing', ({ chatId, userId }) => {
      this.store.dispatch({ type: 'typing', chatId, userId, until: Date.now() + TYPING_SHOW_FOR_MS });
      this.users.ensure([userId]);
    });
    socket.on('presence', ({ userId, online }) => this.store.dispatch({ type: 'presence', userId, online }));
  }

  /** Who is online now in these chats; afterwards `presence` events keep it current. */
  async load(chatIds: readonly string[]): Promise<void> {
    await forEachLimited(chatIds, PRESENCE_CONCURRENCY, async (chatId) => {
      try {
        const { online } = await this.connection.emitPaced<{ online: string[] }>((s, done) =>
          s.timeout(ACK_TIMEOUT_MS).emit('presence:get', { chatId }, (err, r) => done(err, r)),
        );
        const onlineSet = new Set(online);
        const members = this.store.getState().chats[chatId]?.members?.map((m) => m.userId) ?? [];
        for (const userId of new Set([...members, ...online])) {
          if (userId !== this.meId)
            this.store.dispatch({ type: 'presence', userId, online: onlineSet.has(userId) });
        }
      } catch (err) {
        console.warn('presence:get failed', chatId, err);
      }
    });
  }

  /** Throttled: at most one `chat:typing` every 2.5 s per chat. */
  typing(chatId: string): void {
    const now = Date.now();
    if (now - (this.typingSentAt.get(chatId) ?? 0) < TYPING_SEND_EVERY_MS) return;
    this.typingSentAt.set(chatId, now);
    this.connection.whenConnected((socket) => socket.emit('chat:typing', { chatId }));
  }

  stoppedTyping(chatId: string): void {
    this.typingSentAt.delete(chatId);
  }
}
