import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Histogram, type Registry } from 'prom-client';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AppError } from '../errors';
import { errorAnswer } from '../http/error-handler';
import type { Logger } from '../logger';
import {
  CHANNEL_MAX_CALL_BYTES,
  CHANNEL_TCP_KEEP_ALIVE_MS,
  channelCallSchema,
  DRAIN_NOTICE,
  INTERNAL_CHANNEL_PATH,
  type ChannelAnswer,
  type ChannelCall,
} from './channel-protocol';

/** A route of the channel: the body of `POST <path>` in, the 200 answer's body out; it throws what HTTP would. */
export type ChannelRoute = (body: unknown) => Promise<unknown>;

export interface InternalChannelOptions {
  /** By path, the same paths the HTTP routes answer (`/internal/message-batches`, …). */
  routes: Readonly<Record<string, ChannelRoute>>;
  logger: Logger;
  /** Where `internal_channel_call_duration_seconds` is registered. */
  registry: Registry;
  /** After a drain starts, how long connections may take to answer the calls they have before they are cut. */
  drainMs?: number;
}

export interface InternalChannel {
  /** Stops taking calls: each connection is told, answers what it has, then closes (1001); new upgrades get 503. */
  drain(): void;
  /** Connections open now. */
  connections(): number;
}

const DEFAULT_DRAIN_MS = 10_000;

/**
 * Serves the internal channel on `server` (a service's HTTP server): WebSocket upgrades on INTERNAL_CHANNEL_PATH,
 * each frame a call answered as its HTTP route would answer it (status, `{error}` body, Retry-After), in any order.
 * Other upgrades are left to other listeners, or refused 404 when there are none.
 */
export function attachInternalChannel(
  server: Server,
  { routes, logger, registry, drainMs = DEFAULT_DRAIN_MS }: InternalChannelOptions,
): InternalChannel {
  const log = logger.child({ component: 'internal-channel' });
  const duration = new Histogram({
    name: 'internal_channel_call_duration_seconds',
    help: 'Calls answered over the internal channel, by path and status',
    labelNames: ['path', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: CHANNEL_MAX_CALL_BYTES,
    perMessageDeflate: false,
  });
  /** Per connection, the calls it is answering; present until the connection closes. */
  const inFlight = new Map<WebSocket, { calls: number; draining: boolean }>();
  let draining = false;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req.url) !== INTERNAL_CHANNEL_PATH) {
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (draining) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    req.socket.setKeepAlive(true, CHANNEL_TCP_KEEP_ALIVE_MS);
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });

  function serve(ws: WebSocket): void {
    const state = { calls: 0, draining };
    inFlight.set(ws, state);
    ws.on('close', () => inFlight.delete(ws));
    ws.on('error', (err) => log.warn({ err }, 'internal channel connection failed'));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Calls sent after the drain notice crossed it: the caller sends them again elsewhere once this one closes.
      if (state.draining) return;
      const call = isBinary ? undefined : parseCall(data);
      if (!call) {
        log.warn('malformed internal channel call: closing the connection');
        ws.close(1008, 'malformed call');
        return;
      }
      state.calls++;
      void answer(call).then((reply) => {
        state.calls--;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
        if (state.draining && state.calls === 0) ws.close(1001, 'draining');
      });
    });
    if (draining) startDraining(ws, state);
  }

  async function answer({ id, path, requestId, body }: ChannelCall): Promise<ChannelAnswer> {
    // Own keys only: `constructor` or `__proto__` name no route.
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const end = duration.startTimer();
    let reply: ChannelAnswer;
    try {
      if (!route) throw AppError.notFound(`No route for POST ${path}`);
      reply = { id, status: 200, body: await route(body) };
    } catch (err) {
      const { status, headers, body: errorBody } = errorAnswer(err, log.child({ requestId, path }));
      const retryAfter = headers['Retry-After'];
      reply = { id, status, body: errorBody, ...(retryAfter ? { retryAfter } : {}) };
    }
    end({ path: route ? path : 'unmatched', status: String(reply.status) });
    return reply;
  }

  function startDraining(ws: WebSocket, state: { calls: number; draining: boolean }): void {
    state.draining = true;
    if (ws.readyState !== ws.OPEN) return;
    ws.send(DRAIN_NOTICE);
    if (state.calls === 0) ws.close(1001, 'draining');
  }

  return {
    drain() {
      if (draining) return;
      draining = true;
      for (const [ws, state] of inFlight) startDraining(ws, state);
      setTimeout(() => {
        for (const ws of inFlight.keys()) ws.terminate();
      }, drainMs).unref();
    },
    connections: () => inFlight.size,
  };
}

function parseCall(data: RawData): ChannelCall | undefined {
  try {
    const parsed = channelCallSchema.safeParse(JSON.parse(data.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
