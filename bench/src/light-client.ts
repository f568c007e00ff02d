import WebSocket from 'ws';

/**
 * A minimal Socket.IO v4 client over a raw websocket (Engine.IO v4, websocket transport only, namespace `/`,
 * text packets only). It answers pings, connects with an `auth` payload, emits with acks and hands event frames
 * to a callback. The benches use it for BOTH the full stack and the bare baseline, so the client costs the same on
 * each side; it is much cheaper per socket than socket.io-client, which matters when the load generator shares
 * the 2 cores with the servers (and when one process holds tens of thousands of idle sockets).
 *
 * Frames: `0{open}` `2` ping → `3` pong; `40{auth}` connect → `40{sid}` or `44{error}`; `42[event,payload]`;
 * `42<id>[event,payload]` → `43<id>[reply]`.
 */
export interface LightSocketOptions {
  /** `ws://host:port` of the edge or a replica. */
  baseUrl: string;
  /** Extra query parameters (for example nginx's sticky `cid`). */
  query?: Record<string, string>;
  /** Socket.IO `auth` payload sent in the CONNECT packet. */
  auth: Record<string, unknown>;
  /** Called with each event as `[name, payload]` (only events the caller subscribed to are parsed). */
  onEvent?: (name: string, payload: unknown) => void;
  /** Called with the raw `42[…]` frame of each subscribed event, unparsed (cheaper than `onEvent`). */
  onRawEvent?: (frame: string) => void;
  /** Event names worth parsing; other event frames are dropped unparsed (presence and the like). */
  events?: ReadonlySet<string>;
  /** Source address to bind (spreads sockets over 127.x.y.z when ports run out). */
  localAddress?: string;
  connectTimeoutMs?: number;
}

export class LightSocketError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class LightSocket {
  private ws: WebSocket | undefined;
  private nextAckId = 1;
  private readonly pendingAcks = new Map<number, (reply: unknown) => void>();
  private closed = false;
  /** Called once when the connection drops after having been established. */
  onClose: ((reason: string) => void) | undefined;

  constructor(private readonly options: LightSocketOptions) {}

  get connected(): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN && !this.closed;
  }

  /** Opens the websocket and completes the Socket.IO CONNECT; rejects on refusal, error or timeout. */
  connect(): Promise<void> {
    const { baseUrl, query = {}, auth, localAddress, connectTimeoutMs = 10_000 } = this.options;
    const params = new URLSearchParams({ ...query, EIO: '4', transport: 'websocket' });
    const ws = new WebSocket(`${baseUrl}/socket.io/?${params.toString()}`, {
      perMessageDeflate: false,
      handshakeTimeout: connectTimeoutMs,
      ...(localAddress ? { localAddress } : {}),
    });
    this.ws = ws;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => fail(new LightSocketError('connect timed out', 'timeout')),
        connectTimeoutMs,
      );
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.closed = true;
        ws.terminate();
        reject(err);
      };
      ws.on('error', (err: Error & { code?: string }) =>
        fail(new LightSocketError(err.message, err.code ?? 'error')),
      );
      ws.on('unexpected-response', (_req, res) =>
        fail(new LightSocketError(`HTTP ${res.statusCode}`, `http_${res.statusCode}`)),
      );
      ws.on('close', () => {
        if (!settled) fail(new LightSocketError('closed during connect', 'closed'));
        else if (!this.closed) {
          this.closed = true;
          this.onClose?.('transport close');
        }
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const frame = data.toString();
        const type = frame.charCodeAt(0);
        if (type === 0x32 /* 2 ping */) {
          ws.send('3');
        } else if (type === 0x30 /* 0 open */) {
          ws.send(`40${JSON.stringify(auth)}`);
        } else if (type === 0x34 /* 4 message */) {
          const packet = frame.charCodeAt(1);
          if (packet === 0x32 /* 2 event */) this.onEventFrame(frame);
          else if (packet === 0x33 /* 3 ack */) this.onAckFrame(frame);
          else if (packet === 0x30 /* 0 connect */) {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve();
          } else if (packet === 0x34 /* 4 connect_error */) {
            let message = 'connect_error';
            try {
              message = (JSON.parse(frame.slice(2)) as { message?: string }).message ?? message;
            } catch (err) {
              message = `connect_error (unparsable: ${String(err)})`;
            }
            fail(new LightSocketError(message, message));
          } else if (packet === 0x31 /* 1 disconnect */) {
            this.close();
          }
        } else if (type === 0x31 /* 1 close */) {
          this.close();
        }
      });
    });
  }

  /** Emits an event and resolves with the first argument of the server's ack. */
  emitWithAck(event: string, payload: unknown, timeoutMs = 10_000): Promise<unknown> {
    const ws = this.ws;
    if (!ws || !this.connected) return Promise.reject(new LightSocketError('not connected', 'not_connected'));
    const id = this.nextAckId;
    this.nextAckId += 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAcks.delete(id);
        reject(new LightSocketError(`no ack for ${event} within ${timeoutMs} ms`, 'ack_timeout'));
      }, timeoutMs);
      this.pendingAcks.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws?.close();
  }

  /** Drops the TCP connection without a close handshake (fast teardown of many idle sockets). */
  terminate(): void {
    this.closed = true;
    this.ws?.terminate();
  }

  private onEventFrame(frame: string): void {
    const { onEvent, onRawEvent, events } = this.options;
    if (!onEvent && !onRawEvent) return;
    // `42["name",…]`: the name sits between the first two quotes; parse the rest only when it is wanted.
    const nameEnd = frame.indexOf('"', 4);
    const name = frame.slice(4, nameEnd);
    if (events && !events.has(name)) return;
    if (onRawEvent) {
      onRawEvent(frame);
      return;
    }
    if (!onEvent) return;
    const parsed = JSON.parse(frame.slice(2)) as [string, unknown];
    onEvent(parsed[0], parsed[1]);
  }

  private onAckFrame(frame: string): void {
    const bracket = frame.indexOf('[');
    const id = Number(frame.slice(2, bracket));
    const resolve = this.pendingAcks.get(id);
    if (!resolve) return;
    this.pendingAcks.delete(id);
    const args = JSON.parse(frame.slice(bracket)) as unknown[];
    resolve(args[0]);
  }
}
