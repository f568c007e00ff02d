import type { BusChannels } from '../contracts/bus-events';

export type BusHandler<T> = (payload: T) => void;
export type Unsubscribe = () => Promise<void>;

/** Publish/subscribe between services: Redis in the cluster, in-process when embedded. */
export interface EventBus {
  publish<C extends keyof BusChannels>(channel: C, payload: BusChannels[C]): Promise<void>;
  subscribe<C extends keyof BusChannels>(
    channel: C,
    handler: BusHandler<BusChannels[C]>,
  ): Promise<Unsubscribe>;
  close(): Promise<void>;
}
