/**
 * The bare Socket.IO baseline: what a team would write with Socket.IO alone. No auth, no persistence, no
 * presence, no rate limit: a socket joins the room named in its handshake `auth.chatId`; `chat:send` builds a
 * message of the same shape as chat-api's (an id, a per-process seq, the text and clientMsgId), broadcasts it to
 * the room with `io.to(room).emit` and acks. Several processes share rooms through @socket.io/redis-adapter
 * (classic PUBLISH/PSUBSCRIBE mode, the adapter's default), as replicas behind the same nginx would.
 *
 * `chat:sync` answers from the last 100 messages of the chat kept in memory (the reconnect storm's catch-up);
 * `GET /stats` answers the sockets connected (the full stack's /metrics equivalent).
 *
 * Env: PORT, REDIS_URL (optional: one process with the in-memory adapter without it), REPLICA_ID.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

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

io.on('connection', (socket) => {
  const auth: unknown = socket.handshake.auth;
  const chatId =
    typeof auth === 'object' && auth !== null && 'chatId' in auth ? String(auth.chatId) : 'lobby';
  const userId =
    typeof auth === 'object' && auth !== null && 'userId' in auth ? String(auth.userId) : socket.id;
  void socket.join(`chat:${chatId}`);
  socket.on('chat:send', (payload: SendPayload, ack?: (reply: unknown) => void) => {
    const seq = (seqs.get(payload.chatId) ?? 0) + 1;
    seqs.set(payload.chatId, seq);
    counter += 1;
    const message = {
      id: `${idPrefix}${counter.toString(16).padStart(16, '0')}`,
      chatId: payload.chatId,
      seq,
      senderId: userId,
      text: payload.text,
      clientMsgId: payload.clientMsgId,
      createdAt: new Date().toISOString(),
    };
    let list = recent.get(payload.chatId);
    if (!list) recent.set(payload.chatId, (list = []));
    list.push({ seq, message });
    if (list.length > 100) list.shift();
    io.to(`chat:${payload.chatId}`).emit('chat:new', { message });
    ack?.({ ok: true, message });
  });
  // Catch-up after a reconnect: the same page size as the full stack, from memory instead of the store.
  socket.on('chat:sync', (payload: SyncPayload, ack?: (reply: unknown) => void) => {
    const afterSeq = payload.afterSeq ?? 0;
    const messages = (recent.get(payload.chatId) ?? []).filter((m) => m.seq > afterSeq).map((m) => m.message);
    ack?.({ ok: true, messages });
  });
});

httpServer.listen(port, '127.0.0.1', () => {
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
