import type { Logger } from '@cohort/common';
import type { RealtimeMetrics } from '../metrics';
import type { RealtimeSocket } from '../socket-types';
import { clientGone, type HandshakeMiddleware } from './authenticate-handshake';
import { HandshakeRefusal, refusal } from './handshake-refusal';

export interface HandshakeAdmissionDeps {
  /** Handshakes in progress at once on this replica (`MAX_CONCURRENT_HANDSHAKES`). */
  max: number;
  /** Handshakes that wait for a place beyond those (`HANDSHAKE_QUEUE`); 0: one more is refused at once. */
  queue?: number;
  /** How long one waits for its place before it is refused (`HANDSHAKE_QUEUE_WAIT_MS`). */
  queueWaitMs?: number;
  metrics: Pick<RealtimeMetrics, 'handshakesInProgress' | 'handshakesWaiting' | 'handshakes'>;
  logger: Logger;
}

/** How a handshake ended, as `realtime_handshakes_total{outcome}` counts it. */
export type HandshakeOutcome = 'connected' | 'abandoned' | HandshakeRefusal['code'] | 'failed';

/** A handshake waiting for its place. */
interface Waiting {
  start: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Bounds the handshakes `middleware` works on at once; the ones beyond wait for a place, first come first served, at
 * most `queue` of them and each at most `queueWaitMs`; one more, or one that waited that long, is refused with the
 * retryable `overloaded`, before any of its work is done.
 *
 * A reconnect storm (a replica dies and its thousands of clients come back at once) otherwise starts every
 * handshake together: their verifications, Redis commands and chat-api calls queue behind each other (chat-api's
 * connection pool queues without a deadline), each takes longer than the client waits, the clients retry, and the
 * replica keeps finishing handshakes nobody waits for while its accept queue overflows. With the bound, the
 * handshakes admitted finish quickly. The wait is for the clients just past it: refused, each came back on its
 * backoff (0.5–1.5 s and more) with a new connection and upgrade, nearly the CPU of a whole handshake spent on the
 * refusal; waiting, it is taken as soon as a place frees, while the queue holds what the replica finishes within the
 * wait (a few hundred handshakes a second).
 */
export function admitHandshakes(
  { max, queue = 0, queueWaitMs = 0, metrics, logger }: HandshakeAdmissionDeps,
  middleware: HandshakeMiddleware,
): HandshakeMiddleware {
  let inProgress = 0;
  const waiting: Waiting[] = [];

  const refuseOverloaded = (next: (err?: Error) => void, reason: string) => {
    metrics.handshakes.inc({ outcome: 'overloaded' });
    logger.debug({ inProgress, waiting: waiting.length }, `handshake refused: overloaded (${reason})`);
    next(refusal('overloaded'));
  };

  /**
   * Starts waiting handshakes while there are places. Not re-entered: a started handshake that ends at once (its
   * client left while it waited) frees its place inside `start`, and this loop, not a nested call, takes the next.
   */
  let admitting = false;
  const admitWaiting = () => {
    if (admitting) return;
    admitting = true;
    try {
      while (inProgress < max) {
        const waiter = waiting.shift();
        if (!waiter) return;
        metrics.handshakesWaiting.set(waiting.length);
        clearTimeout(waiter.timer);
        waiter.start();
      }
    } finally {
      admitting = false;
    }
  };

  const run = async (socket: RealtimeSocket, next: (err?: Error) => void) => {
    inProgress += 1;
    metrics.handshakesInProgress.set(inProgress);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      inProgress -= 1;
      metrics.handshakesInProgress.set(inProgress);
      metrics.handshakes.inc({ outcome: outcomeOf(socket, err) });
      next(err);
      admitWaiting();
    };
    try {
      await middleware(socket, finish);
    } catch (err) {
      logger.error({ err }, 'handshake failed unexpectedly');
      finish(refusal('unavailable'));
    } finally {
      // A middleware that returned without answering still gives its place back (and the client an answer).
      if (!done) finish(refusal('unavailable'));
    }
  };

  return async (socket, next) => {
    if (inProgress < max && waiting.length === 0) return run(socket, next);
    if (waiting.length >= queue) return refuseOverloaded(next, 'queue full');
    await new Promise<void>((settled) => {
      const entry: Waiting = {
        start: () => void run(socket, next).finally(settled),
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          metrics.handshakesWaiting.set(waiting.length);
          refuseOverloaded(next, 'waited too long');
          settled();
        }, queueWaitMs).unref(),
      };
      waiting.push(entry);
      metrics.handshakesWaiting.set(waiting.length);
    });
  };
}

function outcomeOf(socket: RealtimeSocket, err: Error | undefined): HandshakeOutcome {
  // Socket.IO drops the answer to a client that went away (whatever it is): count those apart.
  if (clientGone(socket)) return 'abandoned';
  if (!err) return 'connected';
  return err instanceof HandshakeRefusal ? err.code : 'failed';
}
