/**
 * The bare Socket.IO baseline: what a team would write with Socket.IO alone. No auth, no persistence, no
 * presence, no rate limit: a socket joins the room named in its handshake `auth.chatId`; `chat:send` builds a
 * message of the same shape as chat-api's (an id, a per-process seq, the text and clientMsgId), broadcasts it to
 * the room with `io.to(room).emit` and acks. Several processes share rooms through @socket.io/redis-adapter
 * (classic PUBLISH/PSUBSCRIBE mode, the adapter's default), as replicas behind the same nginx would.
 *
 * `chat:sync` answers from the last 100 messages of the chat kept in memory (the reconnect storm's catch-up);
 * `GET /stats` answers the sockets connected (the full stack's /metrics equivalent). With AI_BASE_URL set, a
 * `chat:send` mentioning @cohortgpt is also answered by the model, streamed to the room (`src/bare-assistant.ts`).
 *
 * Env: PORT, REDIS_URL (optional: one process with the in-memory adapter without it), REPLICA_ID; AI_BASE_URL,
 * AI_MODEL, AI_API_KEY, AI_COALESCE_MS (the assistant part).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import {
  ASSISTANT_MENTION,
  bareAssistantOptions,
  createBareAssistant,
  type MessageDraft,
} from './bare-assistant';

interface SendPayload {
  chatId: string;
  text: string;
  clientMsgId: string;
}

const port = Number(process.env.PORT ?? 0);
const replica = process.env.REPLICA_ID ?? `bare-${process.pid}`;
const redisUrl = process.env.REDIS_URL;

const httpServer = createServer((req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ replica, sockets: io.engine.clientsCount }));
    return;
  }
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', replica }));
    return;
  }
  res.writeHead(404).end();
});

const io = new Server(httpServer, { path: '/socket.io', serveClient: false });
const clients: Redis[] = [];
if (redisUrl) {
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  clients.push(pub, sub);
  io.adapter(createAdapter(pub, sub));
}

interface SyncPayload {
  chatId: string;
  afterSeq?: number;
}

/** Per chat, its last messages (at most 100): what `chat:sync` answers with, as chat-api pages them. */
const recent = new Map<string, Array<{ seq: number; message: unknown }>>();
const seqs = new Map<string, number>();
const idPrefix = randomBytes(4).toString('hex');
let counter = 0;

/** Gives a message of chat-api's shape an id, a (per-process) seq and a time, keeps it and broadcasts it. */
function post(draft: MessageDraft) {
  const { chatId, senderId, text, clientMsgId, ...answer } = draft;
  const seq = (seqs.get(chatId) ?? 0) + 1;
  seqs.set(chatId, seq);
  counter += 1;
  const id = `${idPrefix}${counter.toString(16).padStart(16, '0')}`;
  const createdAt = new Date().toISOString();
  const message = { id, chatId, seq, senderId, text, clientMsgId, createdAt, ...answer };
  let list = recent.get(chatId);
  if (!list) recent.set(chatId, (list = []));
  list.push({ seq, message });
  if (list.length > 100) list.shift();
  io.to(`chat:${chatId}`).emit('chat:new', { message });
  return message;
}

const assistant = (() => {
  const options = bareAssistantOptions(process.env);
  return options ? createBareAssistant(io, options, post) : undefined;
})();

io.on('connection', (socket) => {
  const auth: unknown = socket.handshake.auth;
  const chatId =
    typeof auth === 'object' && auth !== null && 'chatId' in auth ? String(auth.chatId) : 'lobby';
  const userId =
    typeof auth === 'object' && auth !== null && 'userId' in auth ? String(auth.userId) : socket.id;
  void socket.join(`chat:${chatId}`);
  socket.on('chat:send', (payload: SendPayload, ack?: (reply: unknown) => void) => {
    const { chatId: to, text, clientMsgId } = payload;
    const message = post({ chatId: to, senderId: userId, text, clientMsgId });
    ack?.({ ok: true, message });
    if (assistant && text.includes(ASSISTANT_MENTION)) void assistant({ id: message.id, chatId: to, text });
  });
  // Catch-up after a reconnect: the same page size as the full stack, from memory instead of the store.
  socket.on('chat:sync', (payload: SyncPayload, ack?: (reply: unknown) => void) => {
    const afterSeq = payload.afterSeq ?? 0;
    const messages = (recent.get(payload.chatId) ?? []).filter((m) => m.seq > afterSeq).map((m) => m.message);
    ack?.({ ok: true, messages });
  });
});

// The accept queue realtime listens with (LISTEN_BACKLOG): with Node's default of 511 a reconnect storm fills it and
// nginx's connects time out (502s), which would measure the queue length rather than the server.
httpServer.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  const address = httpServer.address();
  const listening = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ level: 30, replica, port: listening, msg: 'listening' })}\n`);
});

const stop = () => {
  io.close(() => {
    for (const client of clients) client.disconnect();
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
