import {
  io as connectClient,
  type Socket as ClientSocket,
  type ManagerOptions,
  type SocketOptions,
} from 'socket.io-client';
import type { ClientEvents, ServerEvents } from '../../src/socket-types';

export type TestClient = ClientSocket<ServerEvents, ClientEvents>;

export interface ClientOptions {
  token?: string;
  cookie?: string;
  origin?: string;
  transports?: ('websocket' | 'polling')[];
  /** socket.io-client's own reconnection (off by default so a refusal is final). */
  reconnection?: boolean;
  /** socket.io-client's connect timeout (default 5 s). */
  timeoutMs?: number;
}

/** A real socket.io-client, not yet connected. */
export function client(url: string, options: ClientOptions = {}): TestClient {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin) headers.origin = options.origin;
  const opts: Partial<ManagerOptions & SocketOptions> = {
    autoConnect: false,
    forceNew: true,
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    randomizationFactor: 0.2,
    timeout: options.timeoutMs ?? 5000,
    extraHeaders: headers,
    ...(options.token ? { auth: { token: options.token } } : {}),
  };
  return connectClient(url, opts);
}

/** Connects and resolves once connected; rejects with the server's refusal message (`unauthorized`…). */
export function connect(socket: TestClient): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      socket.off('connect_error', onError);
      resolve(socket);
    };
    const onError = (err: Error) => {
      socket.off('connect', onConnect);
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

/** The message of the `connect_error` a handshake ends with (fails the test if it connects). */
export async function refusal(socket: TestClient): Promise<string> {
  try {
    await connect(socket);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    socket.disconnect();
  }
  throw new Error('the handshake was accepted');
}

/** The `connect_error` a handshake ends with: its message and the `data` the server sent along. */
export interface Refusal {
  message: string;
  data: unknown;
}

/** Like `refusal`, with the error's `data` (fails the test if it connects). */
export async function refusalWithData(socket: TestClient): Promise<Refusal> {
  try {
    await connect(socket);
  } catch (err) {
    const data: unknown = err instanceof Error && 'data' in err ? err.data : undefined;
    return { message: err instanceof Error ? err.message : String(err), data };
  } finally {
    socket.disconnect();
  }
  throw new Error('the handshake was accepted');
}

type EventName = keyof ServerEvents & string;
type PayloadOf<E extends EventName> = Parameters<ServerEvents[E]>[0];

/** Resolves with the next `event` whose payload satisfies `match`, or rejects after `timeoutMs`. */
export function nextEvent<E extends EventName>(
  socket: TestClient,
  event: E,
  match: (payload: PayloadOf<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<PayloadOf<E>> {
  return new Promise((resolve, reject) => {
    const listener = (payload: PayloadOf<E>) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on(event, listener as never);
  });
}

/** Collects every `event` payload a socket receives from now on. */
export function collect<E extends EventName>(socket: TestClient, event: E): PayloadOf<E>[] {
  const seen: PayloadOf<E>[] = [];
  socket.on(event, ((payload: PayloadOf<E>) => seen.push(payload)) as never);
  return seen;
}

/** Emits with an ack and resolves with the reply (socket.io-client's own timeout rejects a silent server). */
export function request<E extends keyof ClientEvents & string>(
  socket: TestClient,
  event: E,
  payload: unknown,
  timeoutMs = 5000,
): Promise<AckReply<E>> {
  const untyped = socket as unknown as {
    timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
  };
  return untyped.timeout(timeoutMs).emitWithAck(event, payload) as Promise<AckReply<E>>;
}

export type AckReply<E extends keyof ClientEvents> =
  Parameters<ClientEvents[E]> extends [unknown, (res: infer R) => void] ? R : unknown;

/** Resolves on the socket's next `disconnect`, with its reason. */
export function disconnected(socket: TestClient, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no disconnect within ${timeoutMs} ms`)), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}
