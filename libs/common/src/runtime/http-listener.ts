import type { Server } from 'node:http';
import { listen } from '../shutdown';

/**
 * Idle keep-alive time of every service's HTTP server. Longer than the keep-alive of whatever sits in front
 * (nginx's upstream keepalive_timeout 60 s, the gateway's and realtime's agents 10 s), so the client side of a
 * pooled connection always closes it first and never reuses a socket the server is closing.
 */
export const SERVER_KEEP_ALIVE_MS = 65_000;

export interface ListenOptions {
  port: number;
  /** Interface to bind; internal services default to loopback (docs/security.md). */
  host: string;
  /**
   * Connections the kernel queues for this server before it accepts them (Node's default is 511; Linux caps it at
   * `net.core.somaxconn`). A busy replica with a short queue makes a proxy's connect time out, and the proxy then
   * counts the replica as down.
   */
  backlog?: number;
  /** Runs when draining starts: ends what `server.close()` does not wait well for (proxied websockets, say). */
  onDrainStart?: () => void;
}

export interface HttpListener {
  readonly port: number;
  /**
   * Keeps serving but answers every request with `Connection: close`, so pooled clients (the gateway's agents,
   * nginx) retire their connections here one by one before the listener closes.
   */
  retireConnections(): void;
  /**
   * Stops accepting, answers requests still arriving on open keep-alive connections with `Connection: close`,
   * waits up to `drainMs` for in-flight requests, then ends whatever is left.
   */
  drain(drainMs: number): Promise<{ forced: boolean }>;
}

/** Applies the shared server timeouts, listens, and returns the handle the runtime drains at shutdown. */
export async function listenHttp(
  server: Server,
  { port, host, backlog, onDrainStart }: ListenOptions,
): Promise<HttpListener> {
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  server.headersTimeout = SERVER_KEEP_ALIVE_MS + 1_000;
  let draining = false;
  // A busy keep-alive connection would otherwise be served for as long as its client keeps sending.
  server.prependListener('request', (_req, res) => {
    if (draining) res.setHeader('Connection', 'close');
  });
  const bound = await listen(server, port, host, backlog);
  return {
    port: bound,
    retireConnections() {
      draining = true;
    },
    async drain(drainMs) {
      draining = true;
      if (!server.listening) return { forced: false };
      const closed = new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
      server.closeIdleConnections();
      onDrainStart?.();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        closed.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), drainMs);
        }),
      ]);
      clearTimeout(timer);
      if (drained) return { forced: false };
      server.closeAllConnections();
      await closed;
      return { forced: true };
    },
  };
}
