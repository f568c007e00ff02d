import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  AppError,
  createBatcher,
  createServiceClient,
  MEMBERSHIP_BATCH_MAX,
  membershipBatchResponseSchema,
  membershipsSchema,
  MESSAGE_BATCH_MAX,
  upstreamAnswerError,
  upstreamTimeout,
  type AccessClaims,
  type ForwardedCaller,
  type IdentitySigner,
  type Logger,
  type MembershipLookup,
  type Memberships,
  type Message,
  type MessageBatchEntry,
  type Outcome,
  type ChatSendPayload,
} from '@cohort/common';

/** What realtime asks chat-api on a user's behalf (every call carries that user's forwarded identity). */
export interface ChatApiClient {
  /** The caller's chats and block partners (one lookup of `POST /internal/membership-batches`). */
  memberships(who: AccessClaims, requestId: string): Promise<Memberships>;
  sendMessage(
    who: AccessClaims,
    chatId: string,
    body: Omit<ChatSendPayload, 'chatId'>,
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
  /** Handshake membership lookups: batches out at once, lookups per batch. */
  membershipBatch?: { maxInFlight: number; maxItems: number };
  /** Where failed calls are logged (warn) with their reason; none by default. */
  logger?: Logger;
}

const UPSTREAM = 'chat-api';
// chat-api's message shape (docs/http-api.md), checked before it is handed to clients.
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
  version: z.number(),
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
/** How long a chat-api without `POST /internal/membership-batches` (a release before it) is asked one by one. */
const SINGLE_LOOKUPS_MS = 60_000;
const chatBodySchema = z.object({ chat: z.object({ members: z.array(z.object({ userId: z.string() })) }) });

export function createChatApiClient({
  baseUrl,
  signer,
  timeoutMs,
  connections = 64,
  sendBatch = { maxInFlight: 2, maxItems: MESSAGE_BATCH_MAX },
  membershipBatch = { maxInFlight: 2, maxItems: MEMBERSHIP_BATCH_MAX },
  logger,
}: ChatApiClientOptions): ChatApiClient {
  const upstream = createServiceClient({ name: UPSTREAM, baseUrl, timeoutMs, connections, logger });
  const onBehalfOf = async (who: AccessClaims, requestId: string): Promise<ForwardedCaller> => ({
    assertion: await signer.sign(who),
    requestId,
  });

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
      // No identity on the batch itself: each entry carries its sender's, checked by chat-api one by one.
      const { results } = await upstream.call({
        method: 'POST',
        path: '/internal/message-batches',
        caller: { assertion: null, requestId: randomUUID() },
        json: `{"sends":[${entries.join(',')}]}`,
        // Every entry is keyed by its clientMsgId: replaying the batch after a dropped connection stores nothing
        // twice (a stored entry answers 200 with the original).
        idempotent: true,
        answer: batchBodySchema,
      });
      return results.map((result) => {
        if ('message' in result) {
          return { ok: true, value: { message: result.message, created: result.status === 201 } };
        }
        return { ok: false, error: upstreamAnswerError(UPSTREAM, result.status, { error: result.error }) };
      });
    },
  });

  // Handshakes go out in batches too (POST /internal/membership-batches): during a reconnect storm the surviving
  // replicas' handshakes cost chat-api one request and three store queries per batch rather than per socket.
  // A chat-api from before that route answers it 404 (or 401: no identity on the request), and is then asked
  // one `GET /internal/memberships` per lookup for a while, so realtime and chat-api deploy in either order.
  let singleLookupsUntil = 0;
  const lookUpOne = ({ identity, requestId }: MembershipLookup) =>
    upstream.call({
      method: 'GET',
      path: '/internal/memberships',
      caller: { assertion: identity, requestId },
      answer: membershipsSchema,
    });
  const lookUpEach = (items: MembershipLookup[]) =>
    Promise.all(
      items.map((item) =>
        lookUpOne(item).then(
          (value): Outcome<Memberships> => ({ ok: true, value }),
          (error: unknown): Outcome<Memberships> => ({ ok: false, error }),
        ),
      ),
    );
  const lookups = createBatcher<MembershipLookup, Memberships>({
    maxInFlight: membershipBatch.maxInFlight,
    maxItems: Math.min(membershipBatch.maxItems, MEMBERSHIP_BATCH_MAX),
    maxWeight: 60_000,
    weigh: (item) => item.identity.length + item.requestId.length + 32,
    run: async (items) => {
      if (Date.now() < singleLookupsUntil) return lookUpEach(items);
      let answer;
      try {
        answer = await upstream.call({
          method: 'POST',
          path: '/internal/membership-batches',
          caller: { assertion: null, requestId: randomUUID() },
          body: { lookups: items },
          // A lookup reads and changes nothing: asking again is safe.
          idempotent: true,
          answer: membershipBatchResponseSchema,
        });
      } catch (err) {
        if (!(err instanceof AppError) || (err.status !== 404 && err.status !== 401)) throw err;
        singleLookupsUntil = Date.now() + SINGLE_LOOKUPS_MS;
        logger?.warn({ status: err.status }, 'chat-api has no membership batches: one lookup per handshake');
        return lookUpEach(items);
      }
      return answer.results.map((result): Outcome<Memberships> => {
        if ('chatIds' in result) {
          return { ok: true, value: { chatIds: result.chatIds, blockPartners: result.blockPartners } };
        }
        return { ok: false, error: upstreamAnswerError(UPSTREAM, result.status, { error: result.error }) };
      });
    },
  });

  return {
    async memberships(who, requestId) {
      // Every handshake needs this answer: a transient failure (timeout, chat-api unreachable or 5xx during a
      // reconnect storm) is asked once more, after a short random pause, before the handshake is refused.
      const lookup: MembershipLookup = { identity: await signer.sign(who), requestId };
      try {
        return await lookups.submit(lookup);
      } catch (err) {
        if (!(err instanceof AppError) || err.status < 500) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400));
        return await lookups.submit(lookup);
      }
    },
    async sendMessage(who, chatId, payload, requestId) {
      const entry: MessageBatchEntry = { identity: await signer.sign(who), requestId, chatId, ...payload };
      // Status 201: stored now; 200: the same clientMsgId again, answered with the stored original.
      // The deadline covers the wait for a batch slot too, so a stalled chat-api fails the ack in time (the
      // client retries with the same clientMsgId, which finds the message if it was stored after all).
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(upstreamTimeout(UPSTREAM)), timeoutMs);
      });
      try {
        return await Promise.race([sends.submit(JSON.stringify(entry)), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async messagesAfter(who, chatId, afterSeq, limit, requestId) {
      const { messages } = await upstream.call({
        method: 'GET',
        path: `${chatPath(chatId)}/messages?after=${afterSeq}&limit=${limit}`,
        caller: await onBehalfOf(who, requestId),
        answer: messagesBodySchema,
      });
      return messages;
    },
    async markRead(who, chatId, seq, requestId) {
      await upstream.call({
        method: 'POST',
        path: `${chatPath(chatId)}/read`,
        caller: await onBehalfOf(who, requestId),
        // Setting a read marker twice sets it once.
        idempotent: true,
        body: { seq },
      });
    },
    async memberIds(who, chatId, requestId) {
      const { chat } = await upstream.call({
        method: 'GET',
        path: chatPath(chatId),
        caller: await onBehalfOf(who, requestId),
        answer: chatBodySchema,
      });
      return chat.members.map((m) => m.userId);
    },
    close: () => upstream.close(),
  };
}
