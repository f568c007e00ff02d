import type { Logger, TokenDenylist } from '@cohort/common';
import type { LocalSockets } from '../local-sockets';

export interface RevocationCheckDeps {
  denylist: TokenDenylist;
  localSockets: LocalSockets;
  logger: Logger;
  intervalMs: number;
}

export interface RevocationCheck {
  /** One check of every live session now. */
  check(): Promise<void>;
  /** Checks every `intervalMs` until `stop`. */
  start(): void;
  stop(): void;
}

// Sessions checked against the denylist per Redis round trip.
const CHUNK = 500;

/**
 * The backstop for a lost `session:revoked` bus message: every live session here is checked against the
 * denylist periodically, and the sockets of a revoked one are disconnected. One round trip per chunk of
 * sessions, not one per session.
 */
export function createRevocationCheck({
  denylist,
  localSockets,
  logger,
  intervalMs,
}: RevocationCheckDeps): RevocationCheck {
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    const sessions = localSockets.sessions();
    for (let start = 0; start < sessions.length; start += CHUNK) {
      const chunk = sessions.slice(start, start + CHUNK);
      const revoked = await denylist.revokedAmong(
        chunk.map(([sessionId, sockets]) => [sessionId, ...sockets.map((s) => s.data.tokenId)]),
      );
      chunk.forEach(([sessionId, sockets], i) => {
        if (!revoked[i]) return;
        logger.info(
          { sessionId, sockets: sockets.length },
          'revoked session found by the periodic check: disconnecting',
        );
        for (const socket of sockets) socket.disconnect(true);
      });
    }
  };

  return {
    check,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        check().catch((err: unknown) => logger.warn({ err }, 'revocation check failed'));
      }, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
