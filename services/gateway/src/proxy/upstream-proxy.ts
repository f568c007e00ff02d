import {
  Agent,
  ServerResponse,
  type AgentOptions,
  type ClientRequest,
  type ClientRequestArgs,
  type IncomingMessage,
} from 'node:http';
import { createConnection, isIP, type NetConnectOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError, retryPauseMs, type Logger } from '@cohort/common';
import { createProxyMiddleware, debugProxyErrorsPlugin, proxyEventsPlugin } from 'http-proxy-middleware';
import { Counter, Histogram, type Registry } from 'prom-client';
import { writeError } from '../http/error-response';

export interface UpstreamMetrics {
  duration: Histogram<'upstream' | 'status'>;
  errors: Counter<'upstream' | 'kind'>;
}

/** Proxy metrics: latency by upstream and status, and failures by kind (timeout, unavailable, too_large). */
export function createUpstreamMetrics(registry: Registry): UpstreamMetrics {
  return {
    duration: new Histogram({
      name: 'gateway_upstream_request_duration_seconds',
      help: 'Time from receiving a proxied request to the end of its response',
      labelNames: ['upstream', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'gateway_upstream_errors_total',
      help: 'Proxied requests that failed at the gateway',
      labelNames: ['upstream', 'kind'] as const,
      registers: [registry],
    }),
  };
}

export interface UpstreamProxyOptions {
  /** Label in logs and metrics (auth, chat-api, realtime). */
  name: string;
  target: string;
  /** Deadline for the upstream's response headers, and idle bound afterwards. */
  timeoutMs: number;
  bodyLimitBytes: number;
  logger: Logger;
  metrics: UpstreamMetrics;
  /** Concurrent connections to this upstream per gateway process (keep-alive pool). */
  maxSockets?: number;
  /**
   * How long a request keeps retrying while the upstream refuses or does not answer connections (a restart), or,
   * for a GET or HEAD or a keyed send, drops one before answering (UPSTREAM_RETRY_BUDGET_MS); at most `timeoutMs`
   * (a budget as long as the deadline ends in its 504). 0 = no retries.
   */
  retryBudgetMs: number;
}

export interface UpstreamProxy {
  readonly name: string;
  readonly target: string;
  /** Forwards the request unchanged (path included); failures are answered here in the error shape. */
  web(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Forwards a websocket upgrade. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Destroys pooled upstream connections. */
  close(): void;
}

interface InFlight {
  timer?: NodeJS.Timeout;
  /** When the request stops retrying a dropped connection (ms, performance.now()). */
  giveUpAt: number;
  attempts: number;
  /** The body as it streamed through, kept for an idempotency-keyed POST so a retry can send it again. */
  body?: Buffer[];
  proxyReq?: ClientRequest;
  /** Set once the gateway has given up on the upstream; later events for this request are ignored. */
  outcome?: 'timeout' | 'too_large';
}

/** Errors that mean the upstream is not there or dropped us: answered 502, not 500. */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNTIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
]);

/** Connection failures before the upstream could see anything: retried for every method. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ECONNTIMEDOUT']);
/** A dropped connection before any answer: the upstream may or may not have seen the request. */
const DROPPED = new Set(['ECONNRESET', 'EPIPE']);
/**
 * POST routes keyed by the caller (docs/http-api.md): a message send carries its clientMsgId, and a repeat
 * answers the stored message, so sending it again after a dropped connection stores nothing twice.
 */
const KEYED_POST = /^\/api\/chats\/[^/?]+\/messages(\?|$)/;
/**
 * Connecting to a service on the same network takes milliseconds; a connect still pending after a second lost
 * its SYN (a container network being rewired, say) and is better tried again than left to TCP's retransmits
 * (3 s, then 7 s), like the service client's connect timeout.
 */
const MAX_CONNECT_MS = 1_000;
/** The shortest connect the last attempt within the budget is given. */
const MIN_CONNECT_MS = 100;

/**
 * A keep-alive agent whose new connections are retried while the upstream refuses them or does not answer the
 * connect within `MAX_CONNECT_MS` (in both cases the request never reached it, so this is safe for every
 * method), with short jittered pauses, within `budgetMs`. The request's body waits in its ClientRequest
 * meanwhile; the gateway's deadline still applies.
 */
class RetryingAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly budgetMs: number,
    private readonly onRetry: (attempt: number, err: Error) => void,
  ) {
    super(options);
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    if (!callback || this.budgetMs <= 0) return createConnection(options as NetConnectOpts);
    const done = callback;
    const giveUpAt = performance.now() + this.budgetMs;
    const attempt = (n: number) => {
      const socket: Socket = createConnection(options as NetConnectOpts);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        socket.off('connect', onConnect);
        socket.off('lookup', startConnectTimer);
        const pause = retryPauseMs(n);
        if (!NOT_CONNECTED.has(err.code ?? '') || performance.now() + pause > giveUpAt) {
          done(err, socket);
          return;
        }
        this.onRetry(n, err);
        setTimeout(() => attempt(n + 1), pause);
      };
      const onConnect = () => {
        clearTimeout(connectTimer);
        socket.off('error', onError);
        done(null, socket);
      };
      // The connect is timed from the address on (a name's lookup is not: getaddrinfo cannot be cancelled, and
      // abandoning it would only pile lookups on libuv's threadpool), and never past the retry budget.
      let connectTimer: NodeJS.Timeout | undefined;
      const startConnectTimer = () => {
        const ms = Math.max(MIN_CONNECT_MS, Math.min(MAX_CONNECT_MS, giveUpAt - performance.now()));
        connectTimer = setTimeout(() => {
          const late: NodeJS.ErrnoException = new Error(`connect took over ${Math.round(ms)} ms`);
          late.code = 'ECONNTIMEDOUT';
          socket.destroy(late);
        }, ms);
      };
      if (isIP(options.host ?? '') !== 0) startConnectTimer();
      else socket.once('lookup', startConnectTimer);
      socket.once('error', onError);
      socket.once('connect', onConnect);
    };
    attempt(1);
    return undefined;
  }
}

/**
 * One upstream behind http-proxy-middleware, with what a front door needs around it: a keep-alive agent,
 * a deadline (504 `upstream_timeout`), connection failures as 502 `upstream_unavailable`, a body limit
 * checked on Content-Length and on the streamed bytes (413), and no crash whatever the upstream does.
 * Bodies are streamed, never parsed.
 */
export function createUpstreamProxy(options: UpstreamProxyOptions): UpstreamProxy {
  const { name, target, timeoutMs, bodyLimitBytes, logger, metrics } = options;
  const maxSockets = options.maxSockets ?? 256;
  const retryBudgetMs = Math.min(options.retryBudgetMs, timeoutMs);
  // LIFO keeps a few sockets hot under light load; idle ones are dropped before the upstream's own
  // keep-alive timeout closes them (Node honours the upstream's `Keep-Alive: timeout=` hint).
  const agent = new RetryingAgent(
    {
      keepAlive: true,
      maxSockets,
      maxFreeSockets: Math.min(maxSockets, 64),
      scheduling: 'lifo',
      timeout: 30_000,
    },
    retryBudgetMs,
    (attempt, err) =>
      logger.debug(
        { upstream: name, attempt, err: { message: err.message } },
        'upstream not connected; retrying',
      ),
  );
  const inFlight = new WeakMap<IncomingMessage, InFlight>();

  const fail = (req: IncomingMessage, res: ServerResponse, kind: 'timeout' | 'unavailable', err?: Error) => {
    metrics.errors.inc({ upstream: name, kind });
    const log = {
      upstream: name,
      err: err ? { message: err.message, code: (err as NodeJS.ErrnoException).code } : undefined,
      url: req.url,
    };
    if (res.headersSent) {
      // Half a response cannot be turned into an error: cut the connection so the client sees a failure.
      logger.warn(log, 'upstream failed mid-response');
      res.destroy();
      return;
    }
    logger.warn(log, kind === 'timeout' ? 'upstream timed out' : 'upstream unavailable');
    if (kind === 'timeout')
      writeError(res, 504, 'upstream_timeout', `The ${name} service did not answer in time`);
    else writeError(res, 502, 'upstream_unavailable', `The ${name} service is unavailable`);
  };

  const proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target,
    agent,
    changeOrigin: false,
    xfwd: false,
    ws: false,
    // Our own error handling replaces the default plain-text one; keep the plugins that stop crashes.
    ejectPlugins: true,
    plugins: [debugProxyErrorsPlugin, proxyEventsPlugin],
    on: {
      proxyReq(proxyReq, req) {
        const state = inFlight.get(req);
        if (state?.outcome) {
          proxyReq.destroy();
          return;
        }
        if (state) state.proxyReq = proxyReq;
        // Idle bound once connected: an upstream that stalls mid-response is cut, not waited for.
        proxyReq.setTimeout(timeoutMs, () => {
          if (state && !state.outcome) state.outcome = 'timeout';
          proxyReq.destroy(
            Object.assign(new Error(`${name} idle for ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
          );
        });
      },
      proxyReqWs(proxyReq, _req, socket) {
        proxyReq.setTimeout(timeoutMs, () =>
          proxyReq.destroy(Object.assign(new Error(`${name} did not upgrade`), { code: 'ETIMEDOUT' })),
        );
        // http-proxy pipes the two sockets but does not propagate a destroy: without this, closing one
        // side leaves the other open (and the upstream waiting for a websocket close frame).
        socket.once('close', () => proxyReq.destroy());
        proxyReq.once('upgrade', (_res: IncomingMessage, proxySocket: Duplex) => {
          socket.once('close', () => proxySocket.destroy());
          proxySocket.once('close', () => socket.destroy());
        });
      },
      proxyRes(proxyRes, req) {
        const state = inFlight.get(req);
        if (state?.timer) clearTimeout(state.timer);
        delete proxyRes.headers['x-powered-by'];
      },
      error(err, req, res) {
        if (!(res instanceof ServerResponse)) {
          logger.warn({ upstream: name, err: { message: err.message } }, 'websocket proxy failed');
          res.destroy();
          return;
        }
        const state = inFlight.get(req);
        if (state?.timer) clearTimeout(state.timer);
        if (state?.outcome === 'too_large') return;
        const code = (err as NodeJS.ErrnoException).code;
        if (state?.outcome === 'timeout' || code === 'ETIMEDOUT') {
          if (!res.writableEnded) fail(req, res, 'timeout', err);
          return;
        }
        // A GET or HEAD, or a keyed POST, whose connection a restarting upstream dropped before answering:
        // ask again. A GET has no body to lose; a keyed POST's body was kept as it streamed through.
        const method = req.method ?? 'GET';
        const repeatable = method === 'GET' || method === 'HEAD' || state?.body !== undefined;
        if (state && code && DROPPED.has(code) && repeatable && !res.headersSent && req.complete) {
          state.attempts += 1;
          const pause = retryPauseMs(state.attempts);
          if (performance.now() + pause <= state.giveUpAt) {
            logger.debug(
              { upstream: name, attempt: state.attempts, url: req.url },
              'upstream dropped; retrying',
            );
            setTimeout(() => {
              if (state.outcome || res.writableEnded) return;
              const body = state.body;
              if (body) {
                // http-proxy pipes `req` into the upstream request, and `req` was read by the first attempt:
                // this request's pipe now replays the bytes kept (http-proxy-middleware has no per-request
                // body option).
                req.pipe = <T extends NodeJS.WritableStream>(destination: T) => {
                  for (const chunk of body) destination.write(chunk);
                  destination.end();
                  return destination;
                };
              }
              void proxy(req, res, () => undefined);
            }, pause);
            return;
          }
        }
        if (code && !UNAVAILABLE.has(code)) logger.error({ upstream: name, err }, 'unexpected proxy error');
        fail(req, res, 'unavailable', err);
      },
    },
  });

  return {
    name,
    target,
    web(req, res, next) {
      const declared = req.headers['content-length'];
      if (declared !== undefined && !(Number(declared) <= bodyLimitBytes)) {
        metrics.errors.inc({ upstream: name, kind: 'too_large' });
        next(new AppError(413, 'payload_too_large', 'Request body too large'));
        return;
      }
      const state: InFlight = { giveUpAt: performance.now() + retryBudgetMs, attempts: 0 };
      inFlight.set(req, state);
      if (req.method === 'POST' && KEYED_POST.test(req.url ?? '')) {
        // At most the body limit (checked above and while streaming below).
        const kept: Buffer[] = [];
        state.body = kept;
        req.on('data', (chunk: Buffer) => kept.push(chunk));
        // Adding a 'data' listener starts the flow; paused again, nothing streams until http-proxy pipes the
        // request (its pipe resumes it), so no chunk passes before the upstream request listens.
        req.pause();
      }
      const started = process.hrtime.bigint();

      if (declared === undefined && req.headers['transfer-encoding'] !== undefined) {
        // A chunked body has no declared size: count what streams through and stop at the limit.
        let received = 0;
        const onData = (chunk: Buffer) => {
          received += chunk.length;
          if (received <= bodyLimitBytes || state.outcome) return;
          state.outcome = 'too_large';
          req.off('data', onData);
          if (state.timer) clearTimeout(state.timer);
          state.proxyReq?.destroy();
          metrics.errors.inc({ upstream: name, kind: 'too_large' });
          writeError(res, 413, 'payload_too_large', 'Request body too large', { Connection: 'close' });
        };
        req.on('data', onData);
      }

      state.timer = setTimeout(() => {
        if (state.outcome) return;
        state.outcome = 'timeout';
        state.proxyReq?.destroy();
        fail(req, res, 'timeout');
      }, timeoutMs);
      res.once('close', () => {
        if (state.timer) clearTimeout(state.timer);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.duration.observe({ upstream: name, status: String(res.statusCode) }, seconds);
      });
      void proxy(req, res, next);
    },
    upgrade(req, socket, head) {
      socket.on('error', (err) =>
        logger.debug({ upstream: name, err: { message: err.message } }, 'client websocket error'),
      );
      proxy.upgrade(req, socket as Parameters<typeof proxy.upgrade>[1], head);
    },
    close() {
      agent.destroy();
    },
  };
}
