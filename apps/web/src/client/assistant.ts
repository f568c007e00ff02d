import { api, ApiError } from '../api';
import type { AiDelta, ChatSummaryText } from '../contract';
import { hasHole, resumeAfter } from '../state/ai-streams';
import type { ChatStore } from './chat-store';
import type { ChatSync } from './chat-sync';
import { ACK_TIMEOUT_MS, type ChatSocket, type Connection } from './connection';

/**
 * The assistant's side of the client (DESIGN §7): answers shown as they stream (`ai:delta`, assembled by
 * state/ai-streams), `ai:resume` whenever a hole shows (a lost delta, a stream first seen mid-way after a reload)
 * and for every unfinished stream after a reconnect, `ai:stop`, the assistant's own record, new assistant chats
 * and "Catch me up". The stored answer (`chat:new` with `message.ai.streamId`) replaces the streaming bubble.
 */
export class AssistantClient {
  private readonly resuming = new Set<string>();

  constructor(
    private readonly store: ChatStore,
    private readonly connection: Connection,
    private readonly sync: ChatSync,
  ) {}

  bind(socket: ChatSocket): void {
    socket.on('ai:delta', (delta) => this.onDelta(delta));
  }

  private onDelta(d: AiDelta): void {
    this.store.dispatch({
      type: 'ai/deltas',
      chatId: d.chatId,
      streamId: d.streamId,
      replyTo: d.replyTo,
      deltas: [{ index: d.index, delta: d.delta }],
    });
    const stream = this.store.getState().streams[d.streamId];
    if (stream && hasHole(stream)) void this.resume(d.streamId);
  }

  /** Asks for the deltas after the last one held without a hole; one request per stream at a time. */
  async resume(streamId: string): Promise<void> {
    if (this.resuming.has(streamId)) return;
    const stream = this.store.getState().streams[streamId];
    if (!stream) return;
    this.resuming.add(streamId);
    try {
      const res = await this.connection.emitWithAck<{
        deltas: { index: number; delta: string }[];
        ended: boolean;
      }>((s, done) =>
        s
          .timeout(ACK_TIMEOUT_MS)
          .emit('ai:resume', { chatId: stream.chatId, streamId, afterIndex: resumeAfter(stream) }, (err, r) =>
            done(err, r),
          ),
      );
      this.store.dispatch({
        type: 'ai/deltas',
        chatId: stream.chatId,
        streamId,
        replyTo: stream.replyTo,
        deltas: res.deltas,
        ended: res.ended,
      });
    } catch (err) {
      // The stream expired (or was never ours to see): its stored answer comes, or came, as a message.
      if (err instanceof ApiError && err.code === 'stream_not_found') {
        this.store.dispatch({ type: 'ai/drop', streamId });
      } else {
        console.warn('ai:resume failed', streamId, err);
      }
    } finally {
      this.resuming.delete(streamId);
    }
  }

  /** After a reconnect: every stream still open catches up on what it missed while away. */
  resumeAll(): void {
    for (const stream of Object.values(this.store.getState().streams)) {
      if (!stream.ended || hasHole(stream)) void this.resume(stream.streamId);
    }
  }

  /** Stops an answer being generated; the stored answer keeps what was written (status `stopped`). */
  async stop(streamId: string): Promise<void> {
    const stream = this.store.getState().streams[streamId];
    if (!stream) return;
    this.store.dispatch({ type: 'ai/stopping', streamId, stopping: true });
    try {
      await this.connection.emitWithAck<object>((s, done) =>
        s
          .timeout(ACK_TIMEOUT_MS)
          .emit('ai:stop', { chatId: stream.chatId, streamId }, (err, r) => done(err, r)),
      );
    } catch (err) {
      this.store.dispatch({ type: 'ai/stopping', streamId, stopping: false });
      if (err instanceof ApiError && err.code === 'stream_not_found') return; // it had just ended
      throw err;
    }
  }

  /** The assistant's record (id, name, whether a model answers); a failure leaves the UI without it. */
  async load(): Promise<void> {
    try {
      const assistant = await api.assistant();
      this.store.dispatch({ type: 'assistant/loaded', assistant });
      this.store.dispatch({
        type: 'users/loaded',
        users: [{ id: assistant.id, fullName: assistant.fullName }],
      });
    } catch (err) {
      console.warn('could not load the assistant', err);
    }
  }

  /** A new chat with the assistant ("Ask cohortGPT"). */
  async createChat(): Promise<string> {
    const chat = await api.createAssistantChat();
    this.sync.acceptChat(chat);
    return chat.id;
  }

  summary(chatId: string): Promise<ChatSummaryText> {
    return api.summary(chatId);
  }
}
