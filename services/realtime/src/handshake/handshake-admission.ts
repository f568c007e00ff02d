import type { Logger } from '@cohort/common';
import type { RealtimeMetrics } from '../metrics';
import type { RealtimeSocket } from '../socket-types';
import { clientGone, type HandshakeMiddleware } from './authenticate-handshake';
import { HandshakeRefusal, refusal } from './handshake-refusal';

export interface HandshakeAdmissionDeps {
  /** Handshakes in progress at once on this replica (`MAX_CONCURRENT_HANDSHAKES`). */
  max: number;
  metrics: Pick<RealtimeMetrics, 'handshakesInProgress' | 'handshakes'>;
  logger: Logger;
}

/** How a handshake ended, as `realtime_handshakes_total{outcome}` counts it. */
export type HandshakeOutcome = 'connected' | 'abandoned' | HandshakeRefusal['code'] | 'failed';

/**
 * Bounds the handshakes `middleware` works on at once; one more is refused at once with the retryable
 * `overloaded`, before any of its work is done.
 *
 * A reconnect storm (a replica dies and its thousands of clients come back at once) otherwise starts every
 * handshake together: their verifications, Redis commands and chat-api calls queue behind each other (chat-api's
 * connection pool queues without a deadline), each takes longer than the client waits, the clients retry, and the
 * replica keeps finishing handshakes nobody waits for while its accept queue overflows. With the bound, the
 * handshakes admitted finish quickly, and the clients refused come back on their backoff, having cost one packet.
 */
export function admitHandshakes(
  { max, metrics, logger }: HandshakeAdmissionDeps,
  middleware: HandshakeMiddleware,
): HandshakeMiddleware {
  let inProgress = 0;
  return async (socket, next) => {
    if (inProgress >= max) {
      metrics.handshakes.inc({ outcome: 'overloaded' });
      logger.debug({ inProgress }, 'handshake refused: overloaded');
      next(refusal('overloaded'));
      return;
    }
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
}

function outcomeOf(socket: RealtimeSocket, err: Error | undefined): HandshakeOutcome {
  // Socket.IO drops the answer to a client that went away (whatever it is): count those apart.
  if (clientGone(socket)) return 'abandoned';
  if (!err) return 'connected';
  return err instanceof HandshakeRefusal ? err.code : 'failed';
}
