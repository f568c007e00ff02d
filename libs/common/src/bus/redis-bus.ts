import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { BusChannels } from '../contracts/bus-events';
import type { BusHandler, EventBus, Unsubscribe } from './event-bus';

export interface RedisBusOptions {
  /** Connection used for PUBLISH. */
  publisher: Redis;
  /** A dedicated connection for SUBSCRIBE (a subscribed connection can do nothing else). */
  subscriber: Redis;
  logger: Logger;
  prefix?: string;
}

/** Redis pub/sub bus. Messages are JSON; a malformed message is logged and skipped, never thrown. */
export function createRedisBus({
  publisher,
  subscriber,
  logger,
  prefix = 'cohort:',
}: RedisBusOptions): EventBus {
  const handlers = new Map<string, Set<BusHandler<unknown>>>();

  subscriber.on('message', (redisChannel: string, raw: string) => {
    const set = handlers.get(redisChannel);
    if (!set) return;
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch (err) {
      logger.warn({ err, channel: redisChannel }, 'dropping malformed bus message');
      return;
    }
    for (const handler of set) {
      try {
        handler(payload);
      } catch (err) {
        logger.error({ err, channel: redisChannel }, 'bus handler failed');
      }
    }
  });

  return {
    async publish(channel, payload) {
      await publisher.publish(prefix + channel, JSON.stringify(payload));
    },
    async subscribe<C extends keyof BusChannels>(
      channel: C,
      handler: BusHandler<BusChannels[C]>,
    ): Promise<Unsubscribe> {
      const key = prefix + channel;
      let set = handlers.get(key);
      if (!set) {
        set = new Set();
        handlers.set(key, set);
        await subscriber.subscribe(key);
      }
      set.add(handler as BusHandler<unknown>);
      return async () => {
        const current = handlers.get(key);
        current?.delete(handler as BusHandler<unknown>);
        if (current && current.size === 0) {
          handlers.delete(key);
          await subscriber.unsubscribe(key);
        }
      };
    },
    async close() {
      handlers.clear();
    },
  };
}
