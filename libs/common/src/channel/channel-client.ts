import WebSocket from 'ws';
import type { Logger } from '../logger';
import { upstreamTimeout, upstreamUnavailable } from '../service-client/upstream-errors';
import {
  CHANNEL_TCP_KEEP_ALIVE_MS,
  channelAnswerSchema,
  DRAIN_NOTICE,
  INTERNAL_CHANNEL_PATH,
} from './channel-protocol';

/** What the channel brought back for a call: the status, body and Retry-After HTTP would have answered. */
export interface ChannelReply {
  status: number;
  body: unknown;
  retryAfter?: string | undefined;
}

export interface ChannelClient {
  /**
   * Sends `POST path` with the JSON `json` over an open connection. Resolves with the reply; or with `undefined`
   * when the call was not carried, so the caller makes it over HTTP: no connection is open (the first calls, while
   * connecting; an upstream without the channel), or the connection closed under an idempotent call. Rejects with
   * `upstream_timeout` past the deadline, and `upstream_unavailable` when the connection closed under a call that
   * is not idempotent (the upstream may have done it).
   */
  call(path: string, requestId: string, json: string, idempotent: boolean): Promise<ChannelReply | undefined>;
  close(): Promise<void>;
}

export interface ChannelClientOptions {
  /** The upstream's service name, in errors and log lines. */
  name: string;
  /** Its HTTP origin (`http://host:port`); the channel is upgraded on INTERNAL_CHANNEL_PATH there. */
  baseUrl: string;
  /** A call's deadline (checked about five times per deadline). */
  timeoutMs: number;
  /** Connections kept open; calls go round them. */
  connections: number;
  /**
   * A connection is replaced after about this long (±25 %), so that upstream replicas added behind a balancer get
   * their share of the calls; the new connection takes calls once it is open, the old one answers what it has.
   */
  maxAgeMs?: number | undefined;
  logger?: Logger | undefined;
}

interface Pending {
  resolve(reply: ChannelReply | undefined): void;
  reject(err: unknown): void;
  deadline: number;
  sentAt: number;
  idempotent: boolean;
}

interface Link {
  ws: WebSocket;
  /** Open and not draining: takes new calls. */
  usable: boolean;
  /** Replaced by a newer connection in its slot: closes once its calls are answered, and is not reopened. */
  retired: boolean;
  pending: Map<number, Pending>;
  lastHeardAt: number;
}

/** Reconnect pauses: 250 ms doubling to 30 s, ±50 %; an upstream that has no channel is asked again after 60 s. */
const MAX_RECONNECT_MS = 30_000;
const NO_CHANNEL_RETRY_MS = 60_000;
/** How long a connection serves before it is replaced (see `maxAgeMs`). */
const CHANNEL_MAX_AGE_MS = 5 * 60_000;
/** Answers can be large (a sync batch's pages); the upstream is trusted. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

/**
 * The calling side of the internal channel (channel-server.ts): `connections` WebSockets to the upstream, opened on
 * the first call, reopened after a pause when they close, and replaced after `maxAgeMs` (the replacement is opened
 * first, so calls never wait for it). Used by the service client for calls marked `overChannel`, which fall back to
 * HTTP whenever the channel cannot carry them.
 */
export function createChannelClient({
  name,
  baseUrl,
  timeoutMs,
  connections,
  maxAgeMs = CHANNEL_MAX_AGE_MS,
  logger,
}: ChannelClientOptions): ChannelClient {
  const url = `${baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}${INTERNAL_CHANNEL_PATH}`;
  const slots: (Link | undefined)[] = Array.from({ length: connections }, () => undefined);
  // Every connection not closed yet: the slots', retired ones answering their last calls, replacements opening.
  const links = new Set<Link>();
  const failures = Array.from({ length: connections }, () => 0);
  const timers = new Set<NodeJS.Timeout>();
  let started = false;
  let closed = false;
  let nextId = 0;
  let turn = 0;

  /** Opens a connection for `slot`; with `replacing`, it takes the slot over from that one once it is open. */
  function open(slot: number, replacing?: Link): void {
    if (closed) return;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: MAX_ANSWER_BYTES,
      handshakeTimeout: timeoutMs,
    });
    const link: Link = {
      ws,
      usable: false,
      retired: false,
      pending: new Map(),
      lastHeardAt: performance.now(),
    };
    links.add(link);
    // In its slot: takes calls once open, and is reopened when it closes. A replacement is not until it opens.
    let installed = !replacing;
    if (installed) slots[slot] = link;
    let refusedStatus: number | undefined;
    ws.on('unexpected-response', (_req, res) => {
      refusedStatus = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on('upgrade', (res) => res.socket.setKeepAlive(true, CHANNEL_TCP_KEEP_ALIVE_MS));
    ws.on('open', () => {
      if (replacing) {
        // The slot moved on meanwhile (the old connection closed and was reopened): this one is not needed.
        if (slots[slot] !== replacing) {
          ws.close(1000, 'not needed');
          return;
        }
        slots[slot] = link;
        installed = true;
        retire(replacing);
      }
      failures[slot] = 0;
      link.usable = true;
      later(() => rotate(slot, link), maxAgeMs * (0.75 + Math.random() / 2));
    });
    ws.on('message', (data) => {
      link.lastHeardAt = performance.now();
      const text = data.toString();
      if (text === DRAIN_NOTICE) {
        link.usable = false;
        return;
      }
      const parsed = channelAnswerSchema.safeParse(parseJson(text));
      if (!parsed.success) {
        logger?.warn({ upstream: name }, `${name} channel answered something unreadable: closing it`);
        ws.terminate();
        return;
      }
      const { id, status, body, retryAfter } = parsed.data;
      const waiting = link.pending.get(id);
      if (!waiting) return; // timed out already
      link.pending.delete(id);
      waiting.resolve({ status, body, retryAfter });
      if (link.retired && link.pending.size === 0) ws.close(1000, 'replaced');
    });
    ws.on('error', (err) => {
      if (refusedStatus === undefined) logger?.debug({ err, upstream: name }, `${name} channel failed`);
    });
    ws.on('close', (code) => {
      links.delete(link);
      link.usable = false;
      if (slots[slot] === link) slots[slot] = undefined;
      for (const waiting of link.pending.values()) {
        if (waiting.idempotent) waiting.resolve(undefined);
        else waiting.reject(upstreamUnavailable(name));
      }
      link.pending.clear();
      // A retired connection's slot has its replacement; a replacement that never opened leaves the old one in
      // place, to be replaced at its next turn.
      if (closed || link.retired) return;
      if (!installed) {
        if (replacing && slots[slot] === replacing) later(() => rotate(slot, replacing), maxAgeMs / 4);
        return;
      }
      let pause: number;
      if (refusedStatus !== undefined && refusedStatus !== 503) {
        // An upstream from before the channel (404): HTTP it is, and it is asked again after a while.
        logger?.info(
          { upstream: name, status: refusedStatus },
          `${name} has no internal channel: calls go over HTTP`,
        );
        pause = NO_CHANNEL_RETRY_MS;
      } else {
        failures[slot] = (failures[slot] ?? 0) + 1;
        pause = Math.min(MAX_RECONNECT_MS, 250 * 2 ** ((failures[slot] ?? 1) - 1)) * (0.5 + Math.random());
        if (code !== 1001 && failures[slot] === 1)
          logger?.warn({ upstream: name, code }, `${name} channel closed: reopening, HTTP meanwhile`);
      }
      later(() => open(slot), pause);
    });
  }

  /** Replaces the connection in `slot`, if it is still `link` and serving. */
  function rotate(slot: number, link: Link): void {
    if (slots[slot] === link && link.usable) open(slot, link);
  }

  /** Takes no new calls; closes once the calls it carries are answered (or time out). */
  function retire(link: Link): void {
    link.usable = false;
    link.retired = true;
    if (link.pending.size === 0) link.ws.close(1000, 'replaced');
  }

  function later(run: () => void, ms: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  // Deadlines are checked by one timer rather than one per call. A link that has been silent since a call that
  // timed out was sent is taken for dead and cut (its idempotent calls go over HTTP); a busy one is left alone.
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const link of links) {
        let silent = false;
        for (const [id, waiting] of link.pending) {
          if (waiting.deadline > now) continue;
          link.pending.delete(id);
          logger?.warn({ upstream: name }, `${name} call timed out on the channel`);
          waiting.reject(upstreamTimeout(name));
          if (link.lastHeardAt < waiting.sentAt) silent = true;
        }
        if (silent) link.ws.terminate();
        else if (link.retired && link.pending.size === 0 && link.ws.readyState === WebSocket.OPEN)
          link.ws.close(1000, 'replaced');
      }
    },
    Math.max(20, Math.min(1_000, Math.round(timeoutMs / 5))),
  );
  sweep.unref();

  function usableLink(): Link | undefined {
    for (let i = 0; i < slots.length; i++) {
      const link = slots[(turn + i) % slots.length];
      if (link?.usable) {
        turn = (turn + i + 1) % slots.length;
        return link;
      }
    }
    return undefined;
  }

  return {
    call(path, requestId, json, idempotent) {
      if (closed) return Promise.resolve(undefined);
      if (!started) {
        started = true;
        for (let slot = 0; slot < connections; slot++) open(slot);
      }
      const link = usableLink();
      if (!link) return Promise.resolve(undefined);
      const id = nextId++;
      return new Promise<ChannelReply | undefined>((resolve, reject) => {
        const sentAt = performance.now();
        link.pending.set(id, { resolve, reject, deadline: sentAt + timeoutMs, sentAt, idempotent });
        link.ws.send(
          `{"id":${id},"path":${JSON.stringify(path)},"requestId":${JSON.stringify(requestId)},"body":${json}}`,
        );
      });
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(
        [...links].map(
          (link) =>
            new Promise<void>((resolve) => {
              if (link.ws.readyState === WebSocket.CLOSED) return resolve();
              link.ws.once('close', () => resolve());
              link.ws.close(1000, 'closing');
            }),
        ),
      );
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
