import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { io, type Socket } from 'socket.io-client';
import type {
  AccessClaims,
  Chat,
  ClientToServerEvents,
  Message,
  PublicUser,
  ServerToClientEvents,
} from '@cohort/common';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A registered user as a non-browser client holds it: the access token (sent as Bearer or socket auth). */
export interface TestUser {
  user: PublicUser;
  token: string;
  password: string;
}

function cookieValue(setCookie: string[], name: string): string | undefined {
  for (const header of setCookie) {
    const [pair] = header.split(';');
    const eq = pair?.indexOf('=') ?? -1;
    if (pair && eq > 0 && pair.slice(0, eq) === name) return pair.slice(eq + 1);
  }
  return undefined;
}

async function json<T>(res: Response, expected: number[]): Promise<T> {
  const body = (await res.json()) as T;
  if (!expected.includes(res.status)) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Registers a fresh user through the public API (`baseUrl` is the edge: nginx or the gateway). */
export async function registerUser(baseUrl: string, name = 'user'): Promise<TestUser> {
  const password = `pw-${randomUUID()}`;
  const res = await fetch(`${baseUrl}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `${name}.${randomUUID()}@example.com`,
      password,
      fullName: { firstName: name, lastName: 'Test' },
    }),
  });
  const { user } = await json<{ user: PublicUser }>(res, [201]);
  const token = cookieValue(res.headers.getSetCookie(), 'token');
  if (!token) throw new Error('register set no token cookie');
  return { user, token, password };
}

/** Logs a registered user in again through the public API: a fresh access token (its `token` cookie). */
export async function logIn(baseUrl: string, user: TestUser): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.user.email, password: user.password }),
  });
  await json<unknown>(res, [200]);
  const token = cookieValue(res.headers.getSetCookie(), 'token');
  if (!token) throw new Error('login set no token cookie');
  return token;
}

/** The claims of an access token as a service sees them after verifying it (for signing identities in tests). */
export function claimsOf(token: string): AccessClaims {
  const payload = decodeJwt(token);
  return {
    userId: String(payload.sub),
    sessionId: String(payload.sid),
    tokenId: String(payload.jti),
    issuedAt: Number(payload.iat),
    expiresAt: Number(payload.exp),
  };
}

/** A small typed client for the chat endpoints, authenticating with Bearer. */
export function apiAs(baseUrl: string, user: TestUser) {
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    expected = [200, 201, 204],
  ): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${user.token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status === 204) return undefined as T;
    return json<T>(res, expected);
  };
  return {
    call,
    createGroup: async (title: string, memberIds: string[]) =>
      (await call<{ chat: Chat }>('POST', '/api/chats', { type: 'group', title, memberIds })).chat,
    send: async (chatId: string, text: string, clientMsgId = randomUUID()) =>
      (await call<{ message: Message }>('POST', `/api/chats/${chatId}/messages`, { text, clientMsgId }))
        .message,
    messages: async (chatId: string, query = '') =>
      (await call<{ messages: Message[] }>('GET', `/api/chats/${chatId}/messages${query}`)).messages,
  };
}

export interface ConnectOptions {
  /** Sticky key nginx hashes on (a fresh one per socket by default). */
  cid?: string;
  transports?: Array<'polling' | 'websocket'>;
  reconnection?: boolean;
}

/** Connects a real socket.io-client and resolves once the server accepted the handshake. */
export async function connectSocket(
  baseUrl: string,
  user: TestUser,
  options: ConnectOptions = {},
): Promise<ChatSocket> {
  const socket: ChatSocket = io(baseUrl, {
    path: '/socket.io',
    auth: { token: user.token },
    query: { cid: options.cid ?? randomUUID() },
    transports: options.transports ?? ['polling', 'websocket'],
    reconnection: options.reconnection ?? true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 1000,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return socket;
}

/** Collects every `chat:new` a socket receives, keyed by message id, counting duplicates. */
export function collectMessages(socket: ChatSocket) {
  const byId = new Map<string, Message>();
  let duplicates = 0;
  socket.on('chat:new', ({ message }) => {
    if (byId.has(message.id)) duplicates += 1;
    byId.set(message.id, message);
  });
  return {
    byId,
    get duplicates() {
      return duplicates;
    },
    /** Merges a `chat:sync` answer, as a client does after reconnecting. */
    merge(messages: Message[]) {
      for (const m of messages) byId.set(m.id, m);
    },
  };
}

/** Sends over the socket and resolves with the ack. */
export function socketSend(
  socket: ChatSocket,
  chatId: string,
  text: string,
  clientMsgId = randomUUID(),
  timeoutMs = 5000,
) {
  return socket
    .timeout(timeoutMs)
    .emitWithAck('chat:send', { chatId, text, clientMsgId })
    .then((ack) => ({ ack, clientMsgId }));
}

/** Everything after `afterSeq`, paging through chat:sync as a reconnecting client does. */
export async function syncAll(socket: ChatSocket, chatId: string, afterSeq = 0): Promise<Message[]> {
  const all: Message[] = [];
  let cursor = afterSeq;
  for (;;) {
    const ack = await socket.timeout(5000).emitWithAck('chat:sync', { chatId, afterSeq: cursor });
    if (!ack.ok) throw new Error(`chat:sync refused: ${ack.error.code}`);
    all.push(...ack.messages);
    if (ack.messages.length < 100) return all;
    cursor = ack.messages[ack.messages.length - 1]!.seq;
  }
}
