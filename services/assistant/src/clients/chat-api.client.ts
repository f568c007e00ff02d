import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ASSISTANT_USER_ID,
  chatEnvelopeSchema,
  chatPageSchema,
  createServiceClient,
  messageEnvelopeSchema,
  messagesEnvelopeSchema,
  type Chat,
  type ChatSummary,
  type ForwardedCaller,
  type IdentitySigner,
  type Logger,
  type Message,
  type StoreAnswerBody,
} from '@cohort/common';

/** chat-api as the assistant sees it: everything through its routes, as the assistant or on a user's behalf. */
export interface ChatApi {
  /** The chat with its members; 404 `chat_not_found` when `caller` is not a member. */
  getChat(chatId: string, caller: ForwardedCaller): Promise<Chat>;
  /** One page (≤ 100), ascending by seq. */
  listMessages(
    chatId: string,
    page: { before?: number; after?: number; limit: number },
    caller: ForwardedCaller,
  ): Promise<Message[]>;
  /** The caller's chats, one page. */
  listChats(
    caller: ForwardedCaller,
    cursor?: string,
  ): Promise<{ chats: ChatSummary[]; nextCursor: string | null }>;
  /** Stores an answer (idempotent on its clientMsgId: a second call answers the stored one). */
  storeAnswer(chatId: string, body: StoreAnswerBody): Promise<Message>;
  renameChat(chatId: string, title: string): Promise<void>;
  /** The assistant's own identity, for calls made as the assistant. */
  asAssistant(requestId?: string): Promise<ForwardedCaller>;
  /** A user's identity signed by the assistant (work it does for a user outside any request of theirs). */
  onBehalfOf(userId: string, requestId?: string): Promise<ForwardedCaller>;
  close(): Promise<void>;
}

export interface ChatApiClientOptions {
  baseUrl: string;
  signer: IdentitySigner;
  timeoutMs: number;
  logger: Logger;
}

// The assistant's own identity never expires with a session: it has none (the assertion itself lives 60 s).
const FAR_AHEAD = 4_102_444_800; // 2100-01-01

export function createChatApiClient({ baseUrl, signer, timeoutMs, logger }: ChatApiClientOptions): ChatApi {
  const http = createServiceClient({ name: 'chat-api', baseUrl, timeoutMs, connections: 32, logger });
  const sign = async (userId: string, requestId: string = randomUUID()): Promise<ForwardedCaller> => ({
    assertion: await signer.sign({
      userId,
      sessionId: 'assistant',
      tokenId: userId === ASSISTANT_USER_ID ? 'assistant' : `assistant-for-${userId}`,
      issuedAt: Math.floor(Date.now() / 1000),
      expiresAt: FAR_AHEAD,
    }),
    requestId,
  });
  const pageQuery = (page: { before?: number; after?: number; limit: number }) =>
    [
      page.before !== undefined ? `before=${page.before}` : undefined,
      page.after !== undefined ? `after=${page.after}` : undefined,
      `limit=${page.limit}`,
    ]
      .filter((part): part is string => part !== undefined)
      .join('&');

  return {
    async getChat(chatId, caller) {
      const { chat } = await http.call({
        method: 'GET',
        path: `/api/chats/${encodeURIComponent(chatId)}`,
        caller,
        answer: chatEnvelopeSchema,
      });
      return chat;
    },
    async listMessages(chatId, page, caller) {
      const { messages } = await http.call({
        method: 'GET',
        path: `/api/chats/${encodeURIComponent(chatId)}/messages?${pageQuery(page)}`,
        caller,
        answer: messagesEnvelopeSchema,
      });
      return messages;
    },
    async listChats(caller, cursor) {
      return http.call({
        method: 'GET',
        path: `/api/chats?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        caller,
        answer: chatPageSchema,
      });
    },
    async storeAnswer(chatId, body) {
      const { message } = await http.call({
        method: 'POST',
        path: `/internal/chats/${encodeURIComponent(chatId)}/answers`,
        caller: await sign(ASSISTANT_USER_ID),
        body,
        idempotent: true,
        answer: messageEnvelopeSchema,
      });
      return message;
    },
    async renameChat(chatId, title) {
      await http.call({
        method: 'PATCH',
        path: `/api/chats/${encodeURIComponent(chatId)}`,
        caller: await sign(ASSISTANT_USER_ID),
        body: { title },
        idempotent: true,
        answer: z.unknown(),
      });
    },
    asAssistant: (requestId) => sign(ASSISTANT_USER_ID, requestId),
    onBehalfOf: (userId, requestId) => sign(userId, requestId),
    close: () => http.close(),
  };
}
