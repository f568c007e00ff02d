import { randomUUID } from 'node:crypto';
import type { Event } from 'socket.io';
import type { z } from 'zod';
import { AppError, parseOrThrow, type Logger } from '@cohort/common';
import type { RealtimeMetrics } from '../metrics';
import type { AckError, RealtimeSocket } from '../socket-types';
import type { EventHandlers, EventTimer } from './event-handler';
import { TokenBuckets } from './rate-limit';
import type { UserEventLimit } from './user-event-limit';

export interface EventRouterDeps {
  /** A handler for every event of the contract: the names a client may send. */
  handlers: EventHandlers;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** Per-socket token bucket over every client event: cheap, in memory, in front of the per-user budget. */
  rateLimit: { burst: number; perSecond: number };
  /** The user's budget over all their sockets on every replica. */
  userLimit: UserEventLimit;
}

/** A socket's only middleware (`socket.use((packet) => route(socket, packet))`). */
export type EventRouter = (socket: RealtimeSocket, packet: Event) => void;

type AckFn = (res: unknown) => void;

/** A handler once looked up by a name the client chose: its payload and reply are checked at run time. */
interface AnyEventHandler {
  readonly payload: z.ZodType;
  readonly timer?: EventTimer;
  handle(socket: RealtimeSocket, payload: unknown, reply: AckFn, requestId: string): Promise<void> | void;
}

/** The ack function of a packet, if the client sent one (always the last argument). */
function ackOf(args: readonly unknown[]): AckFn | undefined {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as AckFn) : undefined;
}

/** Maps any failure to the contract's error ack; unknown errors are logged with an id and never leak internals. */
function errorAck(err: unknown, logger: Logger): AckError {
  if (err instanceof AppError) return { ok: false, error: { code: err.code, message: err.message } };
  const errorId = randomUUID();
  logger.error({ err, errorId }, 'socket event failed');
  return { ok: false, error: { code: 'internal_error', message: `Internal error (${errorId})` } };
}

/**
 * The first and only stop of every client event: counted, rate limited, refused when unknown, then validated
 * against its handler's schema and run. Whatever the client sent (no payload, a non-object, no ack, an ack that
 * is not a function, extra arguments), every failure becomes an error ack, nothing escapes to crash the process,
 * and the ack is answered at most once. Events never reach Socket.IO's listeners: there are none.
 */
export function createEventRouter({
  handlers,
  metrics,
  logger,
  rateLimit,
  userLimit,
}: EventRouterDeps): EventRouter {
  // The contract's types describe well-behaved clients; past this lookup, payloads and acks are checked here.
  const table = new Map(Object.entries(handlers) as [string, AnyEventHandler][]);
  const buckets = new TokenBuckets(rateLimit.burst, rateLimit.perSecond);

  const refuse = (args: readonly unknown[], error: AckError['error']) => {
    try {
      ackOf(args)?.({ ok: false, error });
    } catch (err) {
      logger.warn({ err }, 'ack failed');
    }
  };

  function run(socket: RealtimeSocket, event: string, handler: AnyEventHandler, args: unknown[]): void {
    // As Socket.IO's own dispatch to listeners does: an event of a socket that disconnected meanwhile is dropped.
    if (!socket.connected) return;
    const ack = ackOf(args);
    const input = ack && args.length === 1 ? undefined : args[0];
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
    const end = handler.timer?.startTimer();
    Promise.resolve()
      .then(() => handler.handle(socket, parseOrThrow(handler.payload, input), reply, requestId))
      .then(
        () => end?.({ outcome: 'ok' }),
        (err: unknown) => {
          end?.({ outcome: 'error' });
          const log = logger.child({ event, requestId, socketId: socket.id, userId: socket.data.userId });
          reply(errorAck(err, log));
        },
      );
  }

  const limited = (args: readonly unknown[]) => {
    metrics.rateLimited.inc();
    refuse(args, { code: 'rate_limited', message: 'Too many events; slow down and retry' });
  };

  return (socket, [event, ...args]) => {
    const handler = table.get(event);
    metrics.eventsIn.inc({ event: handler ? event : 'unknown' });
    if (!buckets.take(socket)) return limited(args);
    if (!handler) return refuse(args, { code: 'unknown_event', message: 'Unknown event' });
    // Replies of one Redis connection come back in order, so a socket's events still run in the order sent.
    void userLimit.take(socket.data.userId).then((ok) => {
      if (ok) run(socket, event, handler, args);
      else limited(args);
    });
  };
}
