import { EventEmitter } from 'node:events';
import type { BusChannels } from '../contracts/bus-events';
import type { BusHandler, EventBus, Unsubscribe } from './event-bus';

/**
 * In-process bus for the embedded mode. Delivery is asynchronous and payloads are copied,
 * so subscribers behave as they would over Redis (no shared mutation, no re-entrancy).
 */
export function createMemoryBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(channel, payload) {
      const copy = structuredClone(payload);
      setImmediate(() => emitter.emit(channel, copy));
    },
    async subscribe<C extends keyof BusChannels>(
      channel: C,
      handler: BusHandler<BusChannels[C]>,
    ): Promise<Unsubscribe> {
      emitter.on(channel, handler);
      return async () => {
        emitter.off(channel, handler);
      };
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}
