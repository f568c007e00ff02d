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
  SYNC_BATCH_MAX,
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
  type SyncBatchEntry,
} from '@cohort/common';
import { storedMessageSchema } from './stored-message';

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
  /** WebSockets to chat-api's internal channel, which carries the batches; 0: every call over HTTP. */
  channels?: number;
  /** chat:send batching: batches out at once, entries per batch. */
  sendBatch?: { maxInFlight: number; maxItems: number };
  /** Handshake membership lookups: batches out at once, lookups per batch. */
  membershipBatch?: { maxInFlight: number; maxItems: number };
  /** chat:sync: batches out at once, syncs per batch, how long a sync may wait to leave (default `timeoutMs`). */
  syncBatch?: { maxInFlight: number; maxItems: number; maxWaitMs?: number };
  /** Where failed calls are logged (warn) with their reason; none by default. */
  logger?: Logger;
}

const UPSTREAM = 'chat-api';
/** A batch entry's refusal: the status and error its single call would answer. */
const entryErrorSchema = z.object({
  status: z.number(),
  error: z.object({ code: z.string(), message: z.string() }),
});
/** A refused batch entry as the error its single call would have thrown. */
const refusedEntry = ({ status, error }: z.infer<typeof entryErrorSchema>): Outcome<never> => ({
  ok: false,
  error: upstreamAnswerError(UPSTREAM, status, { error }),
});
const batchBodySchema = z.object({
  results: z.array(
    z.union([
      z.object({ status: z.union([z.literal(200), z.literal(201)]), message: storedMessageSchema }),
      entryErrorSchema,
    ]),
  ),
});
const messagesBodySchema = z.object({ messages: z.array(storedMessageSchema) });
const syncBatchBodySchema = z.object({
  results: z.array(z.union([messagesBodySchema.extend({ status: z.literal(200) }), entryErrorSchema])),
});
/** How long a chat-api without one of the batch routes (a release before it) is asked one call at a time. */
const SINGLE_CALLS_MS = 60_000;
/**
 * The messages one sync batch may ask for: 30 full pages. With two batches out, at most about as many pages are in
 * flight as the 64 connections carried when each sync was its own request, whatever the texts' length.
 */
const SYNC_BATCH_MESSAGES = 3000;
/** chat-api's JSON body limit is 64 KB. */
const BATCH_BODY_BYTES = 60_000;
const chatBodySchema = z.object({ chat: z.object({ members: z.array(z.object({ userId: z.string() })) }) });

export function createChatApiClient({
  baseUrl,
  signer,
  timeoutMs,
  connections = 64,
  channels = 0,
  sendBatch = { maxInFlight: 2, maxItems: MESSAGE_BATCH_MAX },
  membershipBatch = { maxInFlight: 2, maxItems: MEMBERSHIP_BATCH_MAX },
  syncBatch = { maxInFlight: 2, maxItems: SYNC_BATCH_MAX },
  logger,
}: ChatApiClientOptions): ChatApiClient {
  const upstream = createServiceClient({
    name: UPSTREAM,
    baseUrl,
    timeoutMs,
    connections,
    logger,
    channel: channels > 0 ? { connections: channels } : undefined,
  });
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
    maxWeight: BATCH_BODY_BYTES,
    weigh: (entry) => Buffer.byteLength(entry),
    run: async (entries) => {
      // No identity on the batch itself: each entry carries its sender's, checked by chat-api one by one.
      const { results } = await upstream.call({
        method: 'POST',
        path: '/internal/message-batches',
        caller: { assertion: null, requestId: randomUUID() },
        overChannel: true,
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
        return refusedEntry(result);
      });
    },
  });

  /**
   * A batch route's runner that falls back to one call per item while chat-api does not have the route: a chat-api
   * from before it answers 404 (or 401: no identity on the request), and is then asked one call at a time for
   * SINGLE_CALLS_MS before a batch is tried again, so realtime and chat-api deploy in either order.
   */
  function orOneByOne<I, O>(
    route: string,
    batched: (items: I[]) => Promise<Outcome<O>[]>,
    single: (item: I) => Promise<O>,
  ): (items: I[]) => Promise<Outcome<O>[]> {
    let singleCallsUntil = 0;
    const each = (items: I[]) =>
      Promise.all(
        items.map((item) =>
          single(item).then(
            (value): Outcome<O> => ({ ok: true, value }),
            (error: unknown): Outcome<O> => ({ ok: false, error }),
          ),
        ),
      );
    return async (items) => {
      if (Date.now() < singleCallsUntil) return each(items);
      try {
        return await batched(items);
      } catch (err) {
        if (!(err instanceof AppError) || (err.status !== 404 && err.status !== 401)) throw err;
        singleCallsUntil = Date.now() + SINGLE_CALLS_MS;
        logger?.warn({ status: err.status, route }, 'chat-api has no such batch route: one call at a time');
        return each(items);
      }
    };
  }

  // Handshakes go out in batches too (POST /internal/membership-batches): during a reconnect storm the surviving
  // replicas' handshakes cost chat-api one request and three store queries per batch rather than per socket.
  // A chat-api from before that route is asked one `GET /internal/memberships` per lookup for a while.
  const lookups = createBatcher<MembershipLookup, Memberships>({
    maxInFlight: membershipBatch.maxInFlight,
    maxItems: Math.min(membershipBatch.maxItems, MEMBERSHIP_BATCH_MAX),
    maxWeight: BATCH_BODY_BYTES,
    weigh: (item) => item.identity.length + item.requestId.length + 32,
    run: orOneByOne(
      '/internal/membership-batches',
      async (items) => {
        const answer = await upstream.call({
          method: 'POST',
          path: '/internal/membership-batches',
          caller: { assertion: null, requestId: randomUUID() },
          overChannel: true,
          body: { lookups: items },
          // A lookup reads and changes nothing: asking again is safe.
          idempotent: true,
          answer: membershipBatchResponseSchema,
        });
        return answer.results.map((result): Outcome<Memberships> => {
          if ('chatIds' in result) {
            return { ok: true, value: { chatIds: result.chatIds, blockPartners: result.blockPartners } };
          }
          return refusedEntry(result);
        });
      },
      ({ identity, requestId }) =>
        upstream.call({
          method: 'GET',
          path: '/internal/memberships',
          caller: { assertion: identity, requestId },
          answer: membershipsSchema,
        }),
    ),
  });

  // chat:sync goes out in batches as well (POST /internal/sync-batches): after a replica dies, every socket that
  // comes back catches up at once, and chat-api answers the syncs arriving together with one request, one
  // membership query and one read of messages for all their pages. A batch asks for at most SYNC_BATCH_MESSAGES
  // messages, so its answer is at most 30 full pages; a chat-api from before the route is asked one
  // `GET …/messages` per sync.
  //
  // A sync's deadline has two parts. In the queue it may wait `maxWaitMs`: one still waiting then is refused
  // (504 upstream_timeout, the client asks again) without being sent. Once its batch leaves, the call has its own
  // `timeoutMs`. A single deadline over both (as sends have) threw away answers chat-api had already computed:
  // in a reconnect storm the queue's tail expired while its batches were being answered, the clients asked again,
  // and the extra work made the next tail expire too (two storms of nine collapsed so, 2,000+ refusals each).
  const syncs = createBatcher<SyncBatchEntry, Message[]>({
    maxInFlight: syncBatch.maxInFlight,
    maxItems: Math.min(syncBatch.maxItems, SYNC_BATCH_MAX),
    maxWait: { ms: syncBatch.maxWaitMs ?? timeoutMs, expired: () => upstreamTimeout(UPSTREAM) },
    // Two budgets in one weight (integers, so they add up exactly): the body's bytes and the answer's messages.
    maxWeight: BATCH_BODY_BYTES * SYNC_BATCH_MESSAGES,
    weigh: (entry) =>
      Math.max(
        (entry.identity.length + entry.requestId.length + entry.chatId.length + 96) * SYNC_BATCH_MESSAGES,
        entry.limit * BATCH_BODY_BYTES,
      ),
    run: orOneByOne(
      '/internal/sync-batches',
      async (entries) => {
        const { results } = await upstream.call({
          method: 'POST',
          path: '/internal/sync-batches',
          caller: { assertion: null, requestId: randomUUID() },
          overChannel: true,
          body: { syncs: entries },
          // A sync reads and changes nothing: asking again is safe.
          idempotent: true,
          answer: syncBatchBodySchema,
        });
        return results.map((result): Outcome<Message[]> => {
          if ('messages' in result) return { ok: true, value: result.messages };
          return refusedEntry(result);
        });
      },
      async ({ identity, requestId, chatId, afterSeq, limit }) => {
        const { messages } = await upstream.call({
          method: 'GET',
          path: `${chatPath(chatId)}/messages?after=${afterSeq}&limit=${limit}`,
          caller: { assertion: identity, requestId },
          answer: messagesBodySchema,
        });
        return messages;
      },
    ),
  });

  /** A batched call's answer within `timeoutMs`, the wait for a batch slot included: a stalled chat-api fails in time. */
  async function withinDeadline<T>(answer: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(upstreamTimeout(UPSTREAM)), timeoutMs);
    });
    try {
      return await Promise.race([answer, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

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
      // Status 201: stored now; 200: the same clientMsgId again, answered with the stored original. On a
      // timeout the client retries with the same clientMsgId, which finds the message if it was stored after all.
      return withinDeadline(sends.submit(JSON.stringify(entry)));
    },
    async messagesAfter(who, chatId, afterSeq, limit, requestId) {
      return syncs.submit({ identity: await signer.sign(who), requestId, chatId, afterSeq, limit });
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
