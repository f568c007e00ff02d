import { Counter, type Registry } from 'prom-client';
import type { ChatEvent, EventBus, Logger } from '@cohort/common';

/**
 * Publishes chat events on the bus channel `chat-events` after their write is committed. Fire-and-forget by
 * design: a publish failure is logged and counted, never turned into a failed request, because the write is
 * already stored and clients recover it with `chat:sync` / `?after=` (docs/socket-events.md). Calls leave in call
 * order (one Redis connection, or setImmediate order in memory), which the sequencer relies on to publish
 * a chat's messages in seq order.
 */
export interface ChatEventPublisher {
  publish(event: ChatEvent): void;
  /** Waits for publishes still in flight (graceful shutdown, tests). */
  flush(): Promise<void>;
}

export function createChatEventPublisher(
  bus: EventBus,
  logger: Logger,
  registry?: Registry,
): ChatEventPublisher {
  const registers = registry ? [registry] : [];
  const published = new Counter({
    name: 'chat_events_published_total',
    help: 'Chat events handed to the bus, by type (chat:new = messages stored)',
    labelNames: ['type'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'chat_event_publish_failures_total',
    help: 'Chat events the bus refused',
    registers,
  });
  const inFlight = new Set<Promise<void>>();
  return {
    publish(event) {
      published.inc({ type: event.type });
      const pending = bus.publish('chat-events', event).then(
        () => undefined,
        (err: unknown) => {
          failed.inc();
          logger.error(
            { err, event: event.type, chatId: 'chatId' in event ? event.chatId : undefined },
            'chat event publish failed; clients recover it with ?after=',
          );
        },
      );
      inFlight.add(pending);
      void pending.finally(() => inFlight.delete(pending));
    },
    async flush() {
      await Promise.all([...inFlight]);
    },
  };
}
