import { randomUUID } from 'node:crypto';
import { AppError, type AccessClaims, type Logger } from '@cohort/common';
import type { AckError, ClientEvents, RealtimeSocket } from '../socket-types';

/** The reply a client event's ack carries (`never` for events without an ack in the contract). */
export type AckOf<E extends keyof ClientEvents> =
  Parameters<ClientEvents[E]> extends [unknown, ((res: infer R) => void)?] ? R : never;

type AckFn = (res: unknown) => void;
interface UntypedListeners {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A socket event handler: receives the raw (unvalidated) payload and answers through `reply`. */
export type EventHandler<E extends keyof ClientEvents> = (
  payload: unknown,
  reply: (res: AckOf<E> | AckError) => void,
  requestId: string,
) => Promise<void> | void;

/**
 * A handler shared by every socket: the socket it serves is its first argument, so registering it costs a socket
 * nothing (no closure, no listener per socket).
 */
export type SocketEventHandler<E extends keyof ClientEvents> = (
  socket: RealtimeSocket,
  payload: unknown,
  reply: (res: AckOf<E> | AckError) => void,
  requestId: string,
) => Promise<void> | void;

/** Shared handlers by event. */
export type EventHandlers = { [E in keyof ClientEvents]?: SocketEventHandler<E> };

/** Any event's shared handler, once looked up by a name the client chose. */
export type UntypedEventHandler = (
  socket: RealtimeSocket,
  payload: unknown,
  reply: (res: unknown) => void,
  requestId: string,
) => Promise<void> | void;

/** One lookup table for several groups of shared handlers. */
export function handlerTable(...groups: EventHandlers[]): ReadonlyMap<string, UntypedEventHandler> {
  const table = new Map<string, UntypedEventHandler>();
  for (const group of groups)
    for (const [event, handler] of Object.entries(group) as [string, UntypedEventHandler | undefined][])
      if (handler) table.set(event, handler);
  return table;
}

/** The ack function of a packet, if the client sent one (always the last argument). */
export function ackOf(args: readonly unknown[]): AckFn | undefined {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as AckFn) : undefined;
}

/** Maps any failure to the contract's error ack; unknown errors are logged with an id and never leak internals. */
export function errorAck(err: unknown, logger: Logger): AckError {
  if (err instanceof AppError) return { ok: false, error: { code: err.code, message: err.message } };
  const errorId = randomUUID();
  logger.error({ err, errorId }, 'socket event failed');
  return { ok: false, error: { code: 'internal_error', message: `Internal error (${errorId})` } };
}

/**
 * Runs `handler` for one event of `socket` with the event's arguments as Socket.IO passes them: whatever the client
 * sent (no payload, a non-object, no ack, an ack that is not a function, extra arguments), the handler gets
 * `payload` as unknown, every failure becomes an error ack, and nothing escapes to crash the process. The ack is
 * answered at most once.
 */
export function runEvent(
  socket: RealtimeSocket,
  event: string,
  args: readonly unknown[],
  logger: Logger,
  handler: UntypedEventHandler,
): void {
  const ack = ackOf(args);
  const payload = ack && args.length === 1 ? undefined : args[0];
  const requestId = randomUUID();
  let answered = false;
  const reply = (res: unknown) => {
    if (answered || !ack) return;
    answered = true;
    try {
      ack(res);
    } catch (err) {
      logger.warn({ err, event }, 'ack failed');
    }
  };
  const log = logger.child({ event, requestId, socketId: socket.id, userId: socket.data.userId });
  Promise.resolve()
    .then(() => handler(socket, payload, reply, requestId))
    .catch((err: unknown) => reply(errorAck(err, log)));
}

/**
 * Registers `handler` for `event` on one socket, with the guarantees of `runEvent`. This costs the socket a
 * listener and the handler's closures: prefer shared `EventHandlers`.
 */
export function onEvent<E extends keyof ClientEvents>(
  socket: RealtimeSocket,
  event: E,
  logger: Logger,
  handler: EventHandler<E>,
): void {
  // The contract types describe well-behaved clients; this listener takes anything and validates it itself.
  (socket as unknown as UntypedListeners).on(event, (...args: unknown[]) =>
    runEvent(socket, event, args, logger, (_socket, payload, reply, requestId) =>
      handler(payload, reply, requestId),
    ),
  );
}

/** The claims chat-api calls are made with (forwarded as the caller's identity). */
export function claimsOf(socket: RealtimeSocket): AccessClaims {
  const { userId, sessionId, tokenId, tokenExpiresAt, tokenIssuedAt } = socket.data;
  return { userId, sessionId, tokenId, expiresAt: tokenExpiresAt, issuedAt: tokenIssuedAt };
}
