import { IDENTITY_HEADER, type ChatSummary, type Message } from '@cohort/common';
import type { ChatClient, Harness } from './index';

/** Helpers shared by the conversation tests (replies, mentions, reactions, rename). */
export const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;
export const messagesOf = (res: { body: unknown }) => (res.body as { messages: Message[] }).messages;
export const errorCodeOf = (res: { body: unknown }) =>
  (res.body as { error?: { code?: string } }).error?.code;

/** PUT with the gateway's forwarded identity of `client` (ChatClient has no `put`). */
export async function put(h: Harness, client: ChatClient, path: string) {
  return h
    .http()
    .put(path)
    .set(IDENTITY_HEADER, await h.identity(client.userId));
}

/** The caller's entry for `chatId` in GET /api/chats (undefined when the chat is not in their list). */
export async function summaryOf(client: ChatClient, chatId: string): Promise<ChatSummary | undefined> {
  const res = await client.get('/api/chats?limit=100');
  if (res.status !== 200) throw new Error(`GET /api/chats: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { chats: ChatSummary[] }).chats.find((c) => c.id === chatId);
}

/** One message as GET …/messages lists it. */
export async function listed(client: ChatClient, chatId: string, messageId: string): Promise<Message> {
  const found = messagesOf(await client.get(`/api/chats/${chatId}/messages?limit=100`)).find(
    (m) => m.id === messageId,
  );
  if (!found) throw new Error(`message ${messageId} is not listed`);
  return found;
}
