import { io, type Socket } from 'socket.io-client';
import { ApiError, refreshSession } from '../api';
import { ackError } from '../errors';
import type { Ack, ClientEvents, ServerEvents } from '../contract';
import type { ConnectionStatus } from '../state/store';
import type { ChatStore } from './chat-store';
import { refusalBackoffMs } from './refusal-backoff';

export type ChatSocket = Socket<ServerEvents, ClientEvents>;

/** How long an emit waits for its ack before it counts as lost. */
export const ACK_TIMEOUT_MS = 10_000;
const STABLE_AFTER_MS = 10_000;

export interface ConnectionOptions {
  store: ChatStore;
  /**
   * Behind the cluster's nginx, `cid` keys sticky routing: every request of one Engine.IO session
   * (polling, then the upgrade) reaches the same realtime replica, whatever happens to the cookies.
   */
  clientId: string;
  /** The server rejected the session for good: back to the login form. */
  onSessionLost: () => void;
  /** After every successful (re)connection; `reconnect` is false the first time. */
  onConnect: (reconnect: boolean) => void;
  /** Registers the product's events on the socket (once, before it connects). */
  bindEvents: (socket: ChatSocket) => void;
}

/**
 * The socket's lifecycle: connect, follow the browser's network state, and come back after the server
 * closed or refused us (refreshing the session when that is why). Reports its state to the store.
 */
export class Connection {
  private socket: ChatSocket | null = null;
  private readonly cleanups: Array<() => void> = [];
  private refusals = 0;
  private stableTimer: number | undefined;
  private connectedBefore = false;

  constructor(private readonly options: ConnectionOptions) {}

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  start(): void {
    if (this.socket) return;
    const socket: ChatSocket = io({
      path: '/socket.io',
      withCredentials: true,
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3_000,
      autoConnect: false,
      query: { cid: this.options.clientId },
    });
    this.socket = socket;
    this.bindLifecycle(socket);
    this.options.bindEvents(socket);
    socket.connect();

    const onOffline = () => {
      // On localhost the engine does not watch the browser's network state; drop the link now rather
      // than after a ping timeout, so the banner shows and the catch-up runs as soon as we are back.
      if (socket.connected) socket.io.engine.close();
      this.setStatus('disconnected');
    };
    const onOnline = () => {
      if (!socket.connected) {
        socket.disconnect();
        socket.connect();
      }
    };
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    this.cleanups.push(
      () => window.removeEventListener('offline', onOffline),
      () => window.removeEventListener('online', onOnline),
    );
  }

  stop(): void {
    window.clearTimeout(this.stableTimer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.socket?.removeAllListeners();
    this.socket?.io.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  /** Runs `action` with the socket when it is connected; false (nothing run) otherwise. */
  whenConnected(action: (socket: ChatSocket) => void): boolean {
    if (!this.socket?.connected) return false;
    action(this.socket);
    return true;
  }

  /**
   * One emit with an ack, as a promise: not connected and a lost ack are `ApiError`s with status 0 (so
   * callers treat them like network failures), a refusal in the ack carries the server's code and the status
   * that code has over REST (`ackError`).
   */
  emitWithAck<T extends object>(
    emit: (socket: ChatSocket, done: (err: Error | null, res?: Ack<T>) => void) => void,
  ): Promise<{ ok: true } & T> {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (!socket?.connected) {
        reject(new ApiError(0, 'network_error', 'Not connected.'));
        return;
      }
      emit(socket, (err, res) => {
        if (err || !res) reject(new ApiError(0, 'timeout', 'The server did not answer in time.'));
        else if (res.ok) resolve(res);
        else reject(ackError(res.error));
      });
    });
  }

  /**
   * `emitWithAck` for work nobody is watching (catch-up, presence): a rate-limited ack waits (Retry-After when
   * given, else 1, 2, 3 s) and tries again, since the per-user event budget refills within seconds.
   */
  async emitPaced<T extends object>(
    emit: (socket: ChatSocket, done: (err: Error | null, res?: Ack<T>) => void) => void,
    attempts = 4,
  ): Promise<{ ok: true } & T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.emitWithAck(emit);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'rate_limited') || attempt >= attempts) throw err;
        const waitMs = (err.retryAfterSeconds ?? attempt) * 1000;
        await new Promise((resolve) => window.setTimeout(resolve, waitMs));
      }
    }
  }

  private setStatus(status: ConnectionStatus, reason: string | null = null): void {
    this.options.store.dispatch({ type: 'connection', status, reason });
  }

  private bindLifecycle(socket: ChatSocket): void {
    socket.on('connect', () => {
      this.setStatus('connected');
      this.options.onConnect(this.connectedBefore);
      this.connectedBefore = true;
      // A connection that holds for a while ends a streak of refusals.
      window.clearTimeout(this.stableTimer);
      this.stableTimer = window.setTimeout(() => (this.refusals = 0), STABLE_AFTER_MS);
    });
    socket.on('disconnect', (reason) => {
      window.clearTimeout(this.stableTimer);
      // The server closed us on purpose (the access token expired, or the session was revoked): refresh the
      // session over HTTP and come back. That takes a moment, so no banner unless it drags on.
      if (reason === 'io server disconnect') {
        this.setStatus('connecting');
        void this.recover(socket, true);
      } else {
        this.setStatus('disconnected');
      }
    });
    socket.on('connect_error', (err) => {
      // `too_many_connections`: the per-user socket cap (docs/security.md); the banner says why.
      this.setStatus('disconnected', err.message === 'too_many_connections' ? err.message : null);
      // A refused handshake (not a network error) is not retried by socket.io itself.
      if (!socket.active) void this.recover(socket, err.message === 'unauthorized', err.message);
    });
  }

  /**
   * Comes back after the server closed or refused the socket: refresh the session when asked, then
   * reconnect. Repeated refusals back off (0, 1, 2, 4 … 30 s, jittered; `overloaded` never at once: see
   * refusal-backoff.ts) so a server that keeps closing us is not hammered; a session the server rejects sends
   * the person back to the login form.
   */
  private async recover(socket: ChatSocket, refresh: boolean, code = ''): Promise<void> {
    this.refusals += 1;
    const delay = refusalBackoffMs(this.refusals, code);
    if (delay > 0) await new Promise((resolve) => window.setTimeout(resolve, delay));
    if (this.socket !== socket || socket.connected) return;
    if (refresh) {
      const result = await refreshSession();
      if (result === 'rejected') {
        this.options.onSessionLost();
        return;
      }
      if (result === 'unreachable') {
        void this.recover(socket, true);
        return;
      }
    }
    if (this.socket === socket && !socket.connected) socket.connect();
  }
}
