import { randomUUID } from 'node:crypto';
import { Agent, errors as undiciErrors, request } from 'undici';
import { z } from 'zod';
import {
  AppError,
  createBatcher,
  IDENTITY_HEADER,
  MESSAGE_BATCH_MAX,
  REQUEST_ID_HEADER,
  type MessageBatchEntry,
  type AccessClaims,
  type IdentitySigner,
  type Message,
} from '@cohort/common';

/** What realtime asks chat-api on a user's behalf (every call carries that user's forwarded identity). */
export interface ChatApiClient {
  /** Ids of the caller's chats (`GET /internal/memberships`). */
  memberships(who: AccessClaims, requestId: string): Promise<string[]>;
  sendMessage(
    who: AccessClaims,
    chatId: string,
    body: { text: string; clientMsgId: string },
    requestId: string,
  ): Promise<{ message: Message; created: boolean }>;
  messagesAfter(
    who: AccessClaims,
    chatId: string,
    afterSeq: number,
    limit: number,
    requestId: string,
  ): Promise<Message[]>;
  markRead(who: AccessClaims, chatId: string, seq: number, requestId: string): Promise<void>;
  /** User ids of a chat's members (404 for non-members, as chat-api answers). */
  memberIds(who: AccessClaims, chatId: string, requestId: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface ChatApiClientOptions {
  baseUrl: string;
  signer: IdentitySigner;
  timeoutMs: number;
  /** Keep-alive connections per chat-api origin. */
  connections?: number;
  /** chat:send batching: batches out at once, entries per batch. */
  sendBatch?: { maxInFlight: number; maxItems: number };
}

const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
// chat-api's message shape (DESIGN.md §2), checked before it is handed to clients.
const messageSchema = z.looseObject({
  id: z.string(),
  chatId: z.string(),
  seq: z.number(),
  senderId: z.string(),
  text: z.string(),
  clientMsgId: z.string(),
  createdAt: z.string(),
  editedAt: z.string().optional(),
  deletedAt: z.string().optional(),
});
const batchBodySchema = z.object({
  results: z.array(
    z.union([
      z.object({ status: z.union([z.literal(200), z.literal(201)]), message: messageSchema }),
      z.object({ status: z.number(), error: z.object({ code: z.string(), message: z.string() }) }),
    ]),
  ),
});
const messagesBodySchema = z.object({ messages: z.array(messageSchema) });
const membershipsBodySchema = z.object({ chatIds: z.array(z.string()) });
const chatBodySchema = z.object({ chat: z.object({ members: z.array(z.object({ userId: z.string() })) }) });

/** A chat-api answer turned into the `{code, message}` the socket ack carries. */
function upstreamError(status: number, body: unknown): AppError {
  const parsed = errorBodySchema.safeParse(body);
  if (parsed.success) return new AppError(status, parsed.data.error.code, parsed.data.error.message);
  if (status >= 500) return new AppError(502, 'unavailable', 'Chat service failed; try again');
  return new AppError(
    status,
    status === 404 ? 'not_found' : 'bad_request',
    `Chat service answered ${status}`,
  );
}

export function createChatApiClient({
  baseUrl,
  signer,
  timeoutMs,
  connections = 64,
  sendBatch = { maxInFlight: 2, maxItems: MESSAGE_BATCH_MAX },
}: ChatApiClientOptions): ChatApiClient {
  const agent = new Agent({
    connections,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 3000),
  });
  const origin = baseUrl.replace(/\/+$/, '');

  async function call(
    who: AccessClaims,
    method: 'GET' | 'POST',
    path: string,
    requestId: string,
    payload?: unknown,
  ): Promise<{ status: number; body: unknown }> {
    const identity = await signer.sign(who);
    return send(
      method,
      path,
      requestId,
      identity,
      payload === undefined ? undefined : JSON.stringify(payload),
    );
  }

  /** One request; `identity` is the forwarded identity header (none for a batch: its entries carry theirs). */
  async function send(
    method: 'GET' | 'POST',
    path: string,
    requestId: string,
    identity: string | undefined,
    json: string | undefined,
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId, accept: 'application/json' };
    if (identity !== undefined) headers[IDENTITY_HEADER] = identity;
    if (json !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await request(`${origin}${path}`, {
        method,
        headers,
        body: json ?? null,
        dispatcher: agent,
      });
    } catch (err) {
      throw transportError(err);
    }
    if (res.statusCode === 204) {
      await res.body.dump();
      return { status: 204, body: undefined };
    }
    let body: unknown;
    try {
      body = await res.body.json();
    } catch (err) {
      if (res.statusCode >= 500) throw new AppError(502, 'unavailable', 'Chat service failed; try again');
      throw transportError(err);
    }
    if (res.statusCode >= 400) throw upstreamError(res.statusCode, body);
    return { status: res.statusCode, body };
  }

  function expect<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new AppError(502, 'unavailable', 'Chat service answered in an unexpected shape');
    return parsed.data;
  }

  const chatPath = (chatId: string) => `/api/chats/${encodeURIComponent(chatId)}`;

  // chat:send goes out in batches (POST /internal/message-batches): one request, and on chat-api's side a few
  // store and Redis round trips, for all the sends that arrive together. Each entry is pre-serialized once,
  // so a batch's weight is its body size, kept under chat-api's 64 KB body limit.
  const sends = createBatcher<string, { message: Message; created: boolean }>({
    maxInFlight: sendBatch.maxInFlight,
    maxItems: Math.min(sendBatch.maxItems, MESSAGE_BATCH_MAX),
    maxWeight: 60_000,
    weigh: (entry) => Buffer.byteLength(entry),
    run: async (entries) => {
      const { body } = await send(
        'POST',
        '/internal/message-batches',
        randomUUID(),
        undefined,
        `{"sends":[${entries.join(',')}]}`,
      );
      const { results } = expect(batchBodySchema, body);
      return results.map((result) => {
        if ('message' in result) {
          return { ok: true, value: { message: result.message, created: result.status === 201 } };
        }
        return { ok: false, error: upstreamError(result.status, { error: result.error }) };
      });
    },
  });

  return {
    async memberships(who, requestId) {
      // Every handshake needs this answer: a transient failure (timeout, chat-api unreachable or 5xx during a
      // reconnect storm) is retried once, after a short random pause, before the handshake is refused.
      const once = async () =>
        expect(membershipsBodySchema, (await call(who, 'GET', '/internal/memberships', requestId)).body);
      try {
        return (await once()).chatIds;
      } catch (err) {
        if (!(err instanceof AppError) || err.status < 500) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400));
        return (await once()).chatIds;
      }
    },
    async sendMessage(who, chatId, payload, requestId) {
      const entry: MessageBatchEntry = { identity: await signer.sign(who), requestId, chatId, ...payload };
      // Status 201: stored now; 200: the same clientMsgId again, answered with the stored original.
      // The deadline covers the wait for a batch slot too, so a stalled chat-api fails the ack in time (the
      // client retries with the same clientMsgId, which finds the message if it was stored after all).
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError()), timeoutMs);
      });
      try {
        return await Promise.race([sends.submit(JSON.stringify(entry)), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async messagesAfter(who, chatId, afterSeq, limit, requestId) {
      const { body } = await call(
        who,
        'GET',
        `${chatPath(chatId)}/messages?after=${afterSeq}&limit=${limit}`,
        requestId,
      );
      return expect(messagesBodySchema, body).messages;
    },
    async markRead(who, chatId, seq, requestId) {
      await call(who, 'POST', `${chatPath(chatId)}/read`, requestId, { seq });
    },
    async memberIds(who, chatId, requestId) {
      const { body } = await call(who, 'GET', chatPath(chatId), requestId);
      return expect(chatBodySchema, body).chat.members.map((m) => m.userId);
    },
    async close() {
      await agent.close();
    },
  };
}

const timeoutError = () => new AppError(504, 'timeout', 'Chat service did not answer in time; try again');

function transportError(err: unknown): AppError {
  const timedOut =
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'));
  if (timedOut) return timeoutError();
  return new AppError(503, 'unavailable', 'Chat service unreachable; try again');
}
