import type { z } from 'zod';
import type { AckError, ClientEvents, RealtimeSocket } from '../socket-types';

/** A client → server event of the contract (libs/common socket-events.ts). */
export type ClientEvent = keyof ClientEvents;

/** The payload an event carries, as the contract's schema outputs it. */
export type PayloadOf<E extends ClientEvent> = Parameters<ClientEvents[E]>[0];

/** The reply an event's ack carries (`unknown` for events without an ack in the contract). */
export type AckOf<E extends ClientEvent> =
  Parameters<ClientEvents[E]> extends [unknown, ((res: infer R) => void)?] ? R : never;

/** Answers the event's ack; the router makes a second call a no-op. */
export type Reply<E extends ClientEvent> = (res: AckOf<E> | AckError) => void;

/** A histogram timing an event from its arrival to its outcome (`ok` or `error`). */
export interface EventTimer {
  startTimer(): (labels: { outcome: 'ok' | 'error' }) => unknown;
}

/**
 * How every client event is handled: one object per event, shared by every socket (the socket it serves is an
 * argument, so an idle socket holds no handler, listener or closure of its own). The event router validates the
 * payload with `payload` before `handle` runs and turns whatever `handle` throws into the error ack.
 */
export interface EventHandler<E extends ClientEvent> {
  /** The contract's payload schema. */
  readonly payload: z.ZodType<PayloadOf<E>>;
  /** Times the event, validation included (when the event has a latency metric of its own). */
  readonly timer?: EventTimer;
  handle(
    socket: RealtimeSocket,
    payload: PayloadOf<E>,
    reply: Reply<E>,
    requestId: string,
  ): Promise<void> | void;
}

/** Handlers by event: a group of them (`EventHandlers<'chat:send' | …>`) or, by default, every event's. */
export type EventHandlers<E extends ClientEvent = ClientEvent> = { readonly [K in E]: EventHandler<K> };
