import type { AiStreamStore, EventBus, Logger } from '@cohort/common';

export interface DeltaStreamer {
  /** Adds text; it goes out with what else arrives within the coalescing interval. */
  push(text: string): void;
  /** Sends what is buffered and waits until every delta is stored and published. */
  flush(): Promise<void>;
  /** Everything pushed so far (what the stored answer's text must equal). */
  readonly text: string;
}

export interface DeltaStreamerOptions {
  streamId: string;
  chatId: string;
  replyTo: string;
  store: AiStreamStore;
  bus: EventBus;
  coalesceMs: number;
  logger: Logger;
  /** Index of the next delta (a stream continued after a takeover starts after the stored ones). */
  nextIndex?: number;
  onDelta?: (count: number) => void;
}

/**
 * Coalesces provider tokens into deltas (one every `coalesceMs` at most: a long answer is tens of events, not
 * thousands), then for each delta, in index order: appends it to the stream store (so `ai:resume` on any realtime
 * replica has it) and only then publishes it on `ai-events` (realtime relays it to the chat's room).
 */
export function createDeltaStreamer(options: DeltaStreamerOptions): DeltaStreamer {
  const { streamId, chatId, replyTo, store, bus, coalesceMs, logger } = options;
  let buffer = '';
  let all = '';
  let index = options.nextIndex ?? 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const send = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer === '') return;
    const delta = buffer;
    buffer = '';
    const at = index++;
    chain = chain.then(async () => {
      try {
        await store.append(streamId, [delta]);
      } catch (err) {
        logger.warn({ err, streamId, index: at }, 'stream store append failed');
      }
      try {
        await bus.publish('ai-events', { type: 'ai:delta', chatId, streamId, replyTo, index: at, delta });
      } catch (err) {
        logger.warn({ err, streamId, index: at }, 'delta publish failed (clients recover it with ai:resume)');
      }
      options.onDelta?.(1);
    });
  };

  return {
    push(text) {
      if (text === '') return;
      buffer += text;
      all += text;
      if (coalesceMs === 0) send();
      else timer ??= setTimeout(send, coalesceMs);
    },
    async flush() {
      send();
      await chain;
    },
    get text() {
      return all;
    },
  };
}
