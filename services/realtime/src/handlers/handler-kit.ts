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
 * Registers `handler` for `event`: whatever the client sends (no payload, a non-object, no ack, an ack that is not
 * a function, extra arguments), the handler gets `payload` as unknown, every failure becomes an error ack, and
 * nothing escapes to crash the process. The ack is answered at most once.
 */
export function onEvent<E extends keyof ClientEvents>(
  socket: RealtimeSocket,
  event: E,
  logger: Logger,
  handler: EventHandler<E>,
): void {
  const listener = (...args: unknown[]): void => {
    const ack = ackOf(args);
    const payload = ack && args.length === 1 ? undefined : args[0];
    const requestId = randomUUID();
    let answered = false;
    const reply = (res: AckOf<E> | AckError) => {
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
      .then(() => handler(payload, reply, requestId))
      .catch((err: unknown) => reply(errorAck(err, log)));
  };
  // The contract types describe well-behaved clients; this listener takes anything and validates it itself.
  (socket as unknown as UntypedListeners).on(event, listener);
}

/** The claims chat-api calls are made with (forwarded as the caller's identity). */
export function claimsOf(socket: RealtimeSocket): AccessClaims {
  const { userId, sessionId, tokenId, tokenExpiresAt, tokenIssuedAt } = socket.data;
  return { userId, sessionId, tokenId, expiresAt: tokenExpiresAt, issuedAt: tokenIssuedAt };
}
