import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { AppError } from '../errors';
import { IDENTITY_HEADER } from '../auth/internal-identity';
import { REQUEST_ID_HEADER } from '../http/request-context';
import type { Logger } from '../logger';
import { createChannelClient, type ChannelClient } from '../channel/channel-client';
import {
  isTransportTimeout,
  UPSTREAM_UNAVAILABLE,
  upstreamAnswerError,
  upstreamTimeout,
  upstreamUnavailable,
} from './upstream-errors';

/** On whose behalf a call between services is made (docs/security.md, trusted identity forwarding). */
export interface ForwardedCaller {
  /**
   * The identity assertion (`x-cohort-identity`) received or signed for the user, sent unchanged. `null` only
   * for a call whose body carries one assertion per entry (realtime's message batches).
   */
  assertion: string | null;
  /** The request this call serves (`x-request-id`), so both services' log lines of it join. */
  requestId: string;
}

export interface ServiceRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query string, starting with `/`, already encoded. */
  path: string;
  caller: ForwardedCaller;
  /** Sent as JSON. */
  body?: unknown;
  /** A body already serialized as JSON (entries serialized once, then joined), instead of `body`. */
  json?: string;
  /**
   * Whether repeating the call is harmless even if the upstream did get it: a GET is; so is a call keyed by
   * the caller (message sends carry their clientMsgId). Such a call is retried also when its connection is
   * reset; any call is retried when the connection is refused (it never reached the upstream).
   */
  idempotent?: boolean;
  /**
   * Carry this POST over the upstream's internal channel when one is open (`channel` option; a call without an
   * identity of its own, `caller.assertion` null): same answer, no HTTP request. Over HTTP otherwise.
   */
  overChannel?: boolean;
}

export interface ServiceClient {
  /** Resolves with the 2xx answer checked against `answer`; rejects with an upstream error (upstream-errors.ts). */
  call<S extends z.ZodType>(req: ServiceRequest & { answer: S }): Promise<z.output<S>>;
  /** The same, for a call whose 2xx answer carries nothing the caller needs (its body is read and dropped). */
  call(req: ServiceRequest): Promise<void>;
  /** Closes the pooled connections; later calls fail `upstream_unavailable`. */
  close(): Promise<void>;
}

export interface ServiceClientOptions {
  /** The upstream's service name ("chat-api", "auth"): in error messages and log lines. */
  name: string;
  /** Its origin (`http://host:port`), a trailing slash allowed. */
  baseUrl: string;
  /**
   * Deadline for the answer's headers, and for each pause while its body arrives (connecting gets at most 3 s
   * of it). Enforced by the pool's own timers: no timer or AbortSignal per request, which left a timer and
   * about 2 KiB of garbage per call at handshake rates (commit 63fa85a).
   */
  timeoutMs: number;
  /** Keep-alive connections to the upstream. */
  connections?: number;
  /** Where failures other than the upstream's own refusals are logged (warn), with their reason. */
  logger?: Logger;
  /**
   * How long a call keeps retrying a refused or reset connection (an upstream restarting), short jittered
   * pauses in between; default the lesser of 2 s and `timeoutMs`. 0 = no retries.
   */
  retryBudgetMs?: number;
  /**
   * Open the upstream's internal channel (channel/): `connections` WebSockets that carry calls marked
   * `overChannel`, each replaced after about `maxAgeMs` (5 min) so upstream replicas added later get calls. None by
   * default.
   */
  channel?: { connections: number; maxAgeMs?: number | undefined } | undefined;
}

/**
 * Idle keep-alive of the pool: shorter than every service's server keep-alive (SERVER_KEEP_ALIVE_MS, 65 s),
 * so this side always closes an idle connection first and never reuses one the server is closing.
 */
const KEEP_ALIVE_MS = 10_000;
/**
 * Connecting to a service on the same network takes milliseconds; a connect that takes a second lost its SYN
 * (a container network being rewired, say) and is better tried again, within the retry budget, than waited on.
 */
const MAX_CONNECT_MS = 1_000;
const DEFAULT_RETRY_BUDGET_MS = 2_000;

/** Transport failures of a connection that was never made: the upstream cannot have seen the request. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT']);
/** A connection dropped under the request (a restarting upstream closing it): it may have been seen. */
const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** Whether a transport failure may be retried: refused always, dropped only for an idempotent call. */
export function isRetryableTransportFailure(err: unknown, idempotent: boolean): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return NOT_CONNECTED.has(code) || (idempotent && DROPPED.has(code));
}

/** Pause before retry `attempt` (1, 2, …): 50, 100, 200, 400 ms then 400, each ±50 % so callers spread out. */
export function retryPauseMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(400, 50 * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + random()));
}

/** The one client for calls between services: a keep-alive pool to one upstream origin (and its internal channel). */
export function createServiceClient({
  name,
  baseUrl,
  timeoutMs,
  connections = 32,
  logger,
  retryBudgetMs = Math.min(DEFAULT_RETRY_BUDGET_MS, timeoutMs),
  channel: channelOptions,
}: ServiceClientOptions): ServiceClient {
  const origin = baseUrl.replace(/\/+$/, '');
  const agent = new Agent({
    connections,
    keepAliveTimeout: KEEP_ALIVE_MS,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, MAX_CONNECT_MS),
  });
  const channel: ChannelClient | undefined = channelOptions
    ? createChannelClient({
        name,
        baseUrl: origin,
        timeoutMs,
        connections: channelOptions.connections,
        maxAgeMs: channelOptions.maxAgeMs,
        logger,
      })
    : undefined;

  const failed = (req: ServiceRequest, error: AppError, reason: string, detail: object = {}): AppError => {
    // The path without its query: queries can carry ids by the hundred.
    const path = req.path.split('?')[0];
    logger?.warn(
      {
        ...detail,
        upstream: name,
        method: req.method,
        path,
        requestId: req.caller.requestId,
        code: error.code,
      },
      `${name} call failed: ${reason}`,
    );
    return error;
  };
  const transportFailure = (req: ServiceRequest, err: unknown, stage: string): AppError =>
    isTransportTimeout(err)
      ? failed(req, upstreamTimeout(name), `timed out ${stage}`, { err })
      : failed(req, upstreamUnavailable(name), `unreachable ${stage}`, { err });

  /** The parsed JSON body of an answer; `undefined` for an empty one. */
  async function readJson(req: ServiceRequest, res: Dispatcher.ResponseData): Promise<unknown> {
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw transportFailure(req, err, 'while answering');
    }
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw failed(req, upstreamUnavailable(name), 'answer is not JSON', { status: res.statusCode });
    }
  }

  /** The error for a non-2xx answer; the upstream's own errors are the caller's to log, failures are logged here. */
  function answerError(req: ServiceRequest, status: number, body: unknown, retryAfter: unknown): AppError {
    const error = upstreamAnswerError(
      name,
      status,
      body,
      typeof retryAfter === 'string' ? retryAfter : undefined,
    );
    return error.code === UPSTREAM_UNAVAILABLE
      ? failed(req, error, `answered ${status}`, { status, body })
      : error;
  }

  /** A 2xx answer's body checked against the call's `answer` schema. */
  function checked(req: ServiceRequest, answer: z.ZodType, status: number, body: unknown): unknown {
    const parsed = answer.safeParse(body);
    if (!parsed.success) {
      throw failed(req, upstreamUnavailable(name), 'answer in an unexpected shape', {
        status,
        issues: parsed.error.issues,
      });
    }
    return parsed.data;
  }

  function call<S extends z.ZodType>(req: ServiceRequest & { answer: S }): Promise<z.output<S>>;
  function call(req: ServiceRequest): Promise<void>;
  async function call(req: ServiceRequest & { answer?: z.ZodType }): Promise<unknown> {
    const json = req.json ?? (req.body === undefined ? undefined : JSON.stringify(req.body));
    const idempotent = req.idempotent ?? req.method === 'GET';
    if (channel && req.overChannel && req.method === 'POST' && req.caller.assertion === null) {
      const reply = await channel.call(req.path, req.caller.requestId, json ?? 'null', idempotent);
      if (reply) {
        if (reply.status < 200 || reply.status >= 300)
          throw answerError(req, reply.status, reply.body, reply.retryAfter);
        return req.answer ? checked(req, req.answer, reply.status, reply.body) : undefined;
      }
    }

    const headers: Record<string, string> = {
      [REQUEST_ID_HEADER]: req.caller.requestId,
      accept: 'application/json',
    };
    if (req.caller.assertion !== null) headers[IDENTITY_HEADER] = req.caller.assertion;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const giveUpAt = performance.now() + retryBudgetMs;
    let res: Dispatcher.ResponseData | undefined;
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await request(`${origin}${req.path}`, {
          method: req.method,
          headers,
          body: json ?? null,
          dispatcher: agent,
        });
      } catch (err) {
        // An upstream restarting refuses or drops connections for about a second: wait it out, within the budget.
        const pause = retryPauseMs(attempt);
        if (!isRetryableTransportFailure(err, idempotent) || performance.now() + pause > giveUpAt)
          throw transportFailure(req, err, 'before answering');
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      // Only a well-formed `{error}` body is used: one that is not JSON, or fails to arrive, counts as none.
      const text = await res.body.text().catch(() => '');
      throw answerError(req, res.statusCode, parseJsonOrUndefined(text), res.headers['retry-after']);
    }
    if (!req.answer) {
      await res.body.dump().catch((err: unknown) => {
        throw transportFailure(req, err, 'while answering');
      });
      return undefined;
    }
    return checked(req, req.answer, res.statusCode, await readJson(req, res));
  }

  return {
    call,
    async close() {
      await Promise.all([agent.close(), channel?.close()]);
    },
  };
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
