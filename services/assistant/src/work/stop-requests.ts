import type { AiControlEvent, EventBus, Logger, Unsubscribe } from '@cohort/common';

/** The abort reason of generations cut by this replica's shutdown (not a member's stop). */
export const SHUTDOWN = 'shutdown';

/** The streams this replica is generating, and the stops members ask for on `ai-control` (from any realtime). */
export interface StopRequests {
  /** A signal aborted when a stop for this stream of this chat arrives; `release` when the stream ends. */
  track(chatId: string, streamId: string): { signal: AbortSignal; release: () => void };
  /** Aborts every tracked stream with the reason `SHUTDOWN` (the answers are left to another replica). */
  abortAll(): void;
}

export async function listenForStops(
  bus: EventBus,
  logger: Logger,
): Promise<StopRequests & { unsubscribe: Unsubscribe }> {
  const active = new Map<string, { chatId: string; controller: AbortController }>();
  const unsubscribe = await bus.subscribe('ai-control', (event: AiControlEvent) => {
    if (event?.type !== 'ai:stop') return;
    const stream = active.get(event.streamId);
    // Realtime checked the member belongs to the chat; the stream must be of that chat too.
    if (!stream || stream.chatId !== event.chatId) return;
    logger.info({ chatId: event.chatId, streamId: event.streamId }, 'stop requested');
    stream.controller.abort();
  });
  return {
    track(chatId, streamId) {
      const controller = new AbortController();
      active.set(streamId, { chatId, controller });
      return { signal: controller.signal, release: () => active.delete(streamId) };
    },
    abortAll() {
      for (const { controller } of active.values()) controller.abort(SHUTDOWN);
    },
    unsubscribe,
  };
}
