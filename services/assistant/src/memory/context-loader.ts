import type { Chat, ForwardedCaller, Message } from '@cohort/common';
import type { ChatApi } from '../clients/chat-api.client';
import type { RecallCandidate } from './recall';

export interface LoadedContext {
  /** The newest messages up to the question, ascending. */
  recent: Message[];
  /** Long-term memory candidates: older messages of this chat, and of the asker's other assistant chats. */
  older: RecallCandidate[];
}

export interface ContextLimits {
  /** Pages of 100 read for short-term memory (up to the question). */
  recentPages: number;
  /** Further pages of 100 read below them as long-term candidates. */
  olderPages: number;
  /** The asker's other assistant chats searched (most recently active first), 100 messages each. */
  otherChats: number;
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = { recentPages: 2, olderPages: 3, otherChats: 5 };

/**
 * Reads what the model may see, through chat-api at prompt time (so edits and deletes are current): this chat's
 * messages as the assistant (a member), and in an assistant chat the asker's other assistant chats, found by
 * listing the asker's own chats (`asker`) — never a chat the asker is not a member of.
 */
export async function loadContext(
  chatApi: ChatApi,
  chat: Chat,
  questionSeq: number,
  assistant: ForwardedCaller,
  asker: () => Promise<ForwardedCaller>,
  /** The page of 100 ending at the question, when the caller already read it. */
  firstPage?: Message[],
  limits: ContextLimits = DEFAULT_CONTEXT_LIMITS,
): Promise<LoadedContext> {
  const pages: Message[][] = [];
  let before = questionSeq + 1;
  for (let i = 0; i < limits.recentPages + limits.olderPages && before > 1; i++) {
    const page =
      i === 0 && firstPage
        ? firstPage
        : await chatApi.listMessages(chat.id, { before, limit: 100 }, assistant);
    if (page.length === 0) break;
    pages.unshift(page);
    before = page[0]!.seq;
    if (page.length < 100) break;
  }
  const all = pages.flat();
  const recentCount = Math.min(all.length, limits.recentPages * 100);
  const older: RecallCandidate[] = all.map((message) => ({ message, origin: 'this' }));
  const otherChats = async (): Promise<RecallCandidate[]> => {
    if (chat.type !== 'assistant' || limits.otherChats <= 0) return [];
    const { chats } = await chatApi.listChats(await asker());
    const others = chats
      .filter((c) => c.type === 'assistant' && c.id !== chat.id)
      .slice(0, limits.otherChats);
    const pagesOfOthers = await Promise.all(
      others.map((other) => chatApi.listMessages(other.id, { limit: 100 }, assistant).catch(() => [])),
    );
    return pagesOfOthers.flat().map((message): RecallCandidate => ({ message, origin: 'other' }));
  };
  // Messages stored after the question: the answers to questions queued before it belong to its conversation.
  const [later, fromOthers] = await Promise.all([
    chat.lastSeq > questionSeq
      ? chatApi.listMessages(chat.id, { after: questionSeq, limit: 100 }, assistant)
      : Promise.resolve([]),
    otherChats(),
  ]);
  return { recent: [...all.slice(all.length - recentCount), ...later], older: [...older, ...fromOthers] };
}
