import { api, ApiError, describeError, type SendBody } from '../api';
import type { Message } from '../contract';
import { newClientMsgId } from '../lib/ids';
import { makePending, type UiMessage } from '../state/messages';
import type { ChatStore } from './chat-store';
import type { ChatSync } from './chat-sync';
import { ACK_TIMEOUT_MS, type Connection } from './connection';
import type { ReadMarkers } from './read-markers';

/**
 * Codes that mean "not now" rather than "no": realtime's `upstream_timeout` / `upstream_unavailable` (chat-api
 * did not answer it), the older `timeout` / `unavailable` they replace, and a chat too busy to order the message.
 */
const TRANSIENT_CODES = new Set([
  'timeout',
  'unavailable',
  'upstream_timeout',
  'upstream_unavailable',
  'sequence_contention',
  'store_unavailable',
  'network_error',
]);

/**
 * Network-shaped failures are retried by themselves (at once while connected, else after the reconnect);
 * refusals are not: `blocked`, `rate_limited` (the person sees why and retries) and every other 4xx.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) {
    if (err.status === 429) return false;
    return err.status === 0 || err.status >= 500 || TRANSIENT_CODES.has(err.code);
  }
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
    version: m.version ?? 1,
    ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    ...(m.mentions ? { mentions: [...m.mentions] } : {}),
    ...(m.reactions ? { reactions: [...m.reactions] } : {}),
    ...(m.reactionsVersion !== undefined ? { reactionsVersion: m.reactionsVersion } : {}),
    ...(m.ai ? { ai: m.ai } : {}),
  };
}

/** What a message may carry besides its text (DESIGN §8). */
export interface SendExtras {
  replyTo?: string | undefined;
  mentions?: readonly string[] | undefined;
}

function bodyOf(
  text: string,
  clientMsgId: string,
  replyTo: string | undefined,
  mentions: readonly string[] | undefined,
): SendBody {
  return {
    text,
    clientMsgId,
    ...(replyTo ? { replyTo } : {}),
    ...(mentions && mentions.length > 0 ? { mentions: [...mentions] } : {}),
  };
}

const waitingKey = (chatId: string, clientMsgId: string) => `${chatId}|${clientMsgId}`;

/**
 * What I write: a message shows at once (pending) and is stored through the socket, or REST when the
 * socket is down; a lost ack is retried once at once, a network failure waits for the next connection,
 * a refusal shows _Retry_. The clientMsgId makes every retry safe: the server stores a message once.
 */
export class Outbox {
  /** Messages that failed for want of a network: sent again after the next catch-up. */
  private readonly waiting = new Set<string>();

  constructor(
    private readonly store: ChatStore,
    private readonly connection: Connection,
    private readonly sync: ChatSync,
    private readonly reads: ReadMarkers,
  ) {}

  /** Shows the message at once (pending), then stores it through the socket, or REST when offline. */
  send(chatId: string, text: string, extras: SendExtras = {}): void {
    const trimmed = text.trim();
    if (!trimmed) return;
    const clientMsgId = newClientMsgId();
    const senderId = this.store.getState().meId;
    const mentions = extras.mentions && extras.mentions.length > 0 ? extras.mentions : undefined;
    this.store.dispatch({
      type: 'message/pending',
      message: makePending({
        chatId,
        senderId,
        text: trimmed,
        clientMsgId,
        now: new Date(),
        replyTo: extras.replyTo,
        mentions,
      }),
    });
    void this.deliver(chatId, bodyOf(trimmed, clientMsgId, extras.replyTo, mentions));
  }

  /** Sends a failed message again with the same clientMsgId: the server stores it at most once. */
  retry(chatId: string, clientMsgId: string): void {
    const item = this.store
      .getState()
      .threads[chatId]?.items.find((m) => m.clientMsgId === clientMsgId && m.status !== 'sent');
    this.waiting.delete(waitingKey(chatId, clientMsgId));
    if (!item) return;
    this.store.dispatch({ type: 'message/local-status', chatId, clientMsgId, status: 'pending' });
    void this.deliver(chatId, bodyOf(item.text, clientMsgId, item.replyTo, item.mentions));
  }

  /** After a catch-up: everything that waited for the connection goes out. */
  resendWaiting(): void {
    for (const key of [...this.waiting]) {
      const [chatId, clientMsgId] = key.split('|') as [string, string];
      this.retry(chatId, clientMsgId);
    }
  }

  discard(chatId: string, clientMsgId: string): void {
    this.waiting.delete(waitingKey(chatId, clientMsgId));
    this.store.dispatch({ type: 'message/discard', chatId, clientMsgId });
  }

  async edit(chatId: string, messageId: string, text: string): Promise<void> {
    const message = await api.editMessage(chatId, messageId, text.trim());
    this.store.dispatch({ type: 'message/changed', message });
  }

  async remove(chatId: string, messageId: string): Promise<void> {
    await api.deleteMessage(chatId, messageId);
    const item = this.store.getState().threads[chatId]?.items.find((m) => m.id === messageId);
    const message = item ? toMessage(item) : null;
    if (message) {
      this.store.dispatch({
        type: 'message/changed',
        // The server's delete bumps the version too: this copy matches its `chat:deleted`.
        message: { ...message, text: '', deletedAt: new Date().toISOString(), version: message.version + 1 },
      });
    }
  }

  private async deliver(chatId: string, body: SendBody, attempt = 1): Promise<void> {
    const { clientMsgId } = body;
    try {
      const message = this.connection.connected
        ? (
            await this.connection.emitWithAck<{ message: Message }>((s, done) =>
              s.timeout(ACK_TIMEOUT_MS).emit('chat:send', { chatId, ...body }, (err, r) => done(err, r)),
            )
          ).message
        : await api.sendMessage(chatId, body);
      this.sync.ingest(chatId, [message]);
      this.reads.markRead(chatId);
    } catch (err) {
      // A lost ack while connected (the link died, or came back, in between): one more try at once;
      // the clientMsgId makes it safe.
      if (isTransient(err) && this.connection.connected && attempt < 2) {
        return this.deliver(chatId, body, attempt + 1);
      }
      if (isTransient(err)) this.waiting.add(waitingKey(chatId, clientMsgId));
      if (isTransient(err) && !this.connection.connected) {
        // Offline: keep it pending; it goes out by itself after the reconnect's catch-up.
        this.store.dispatch({
          type: 'message/local-status',
          chatId,
          clientMsgId,
          status: 'pending',
          error: 'Waiting for the connection…',
        });
        return;
      }
      this.store.dispatch({
        type: 'message/local-status',
        chatId,
        clientMsgId,
        status: 'failed',
        error: describeError(err, 'send'),
      });
    }
  }
}
