import {
  AppError,
  type ChatSummaryText,
  type ForwardedCaller,
  type Logger,
  type Message,
} from '@cohort/common';
import type { ChatApi } from '../clients/chat-api.client';
import type { UserNames } from '../clients/user-names.client';
import type { TokenBudget } from '../limits/token-budget';
import { turnTokens } from '../memory/tokenizer';
import type { AssistantMetrics } from '../metrics';
import type { ModelProvider } from '../provider/model-provider';
import { extractiveSummary } from './extractive-summary';

export interface CatchUpDeps {
  chatApi: ChatApi;
  names: UserNames;
  provider: ModelProvider | undefined;
  budget: TokenBudget;
  metrics: AssistantMetrics;
  logger: Logger;
  maxContextTokens: number;
}

const MAX_MESSAGES = 500;
const SUMMARY_TOKENS = 400;

/**
 * POST /api/chats/:chatId/summary (DESIGN §7): the messages after the caller's read marker (at most 500), read as
 * the caller (chat-api answers 404 to a non-member, and that passes through). The model summarises them when one is
 * configured and the caller's budget allows; otherwise, or when the model fails, an extractive summary is made here.
 */
export async function catchUp(
  deps: CatchUpDeps,
  chatId: string,
  userId: string,
  caller: ForwardedCaller,
): Promise<ChatSummaryText> {
  const chat = await deps.chatApi.getChat(chatId, caller);
  const me = chat.members?.find((m) => m.userId === userId);
  if (!me) throw AppError.notFound('Chat not found', 'chat_not_found');
  const messages: Message[] = [];
  let after = me.lastReadSeq;
  while (messages.length < MAX_MESSAGES) {
    const page = await deps.chatApi.listMessages(chatId, { after, limit: 100 }, caller);
    messages.push(...page);
    if (page.length < 100) break;
    after = page[page.length - 1]!.seq;
  }
  const unread = messages.slice(0, MAX_MESSAGES);
  const visible = unread.filter((m) => !m.deletedAt && m.text.trim() !== '');
  if (visible.length === 0) return { summary: 'Nothing new to catch up on.', fromSeq: 0, toSeq: 0 };
  const fromSeq = unread[0]!.seq;
  const toSeq = unread[unread.length - 1]!.seq;
  const names = await deps.names.names(
    [...(chat.members ?? []).map((m) => m.userId), ...visible.map((m) => m.senderId)],
    await deps.chatApi.asAssistant(caller.requestId),
  );

  const { provider } = deps;
  if (provider && (await deps.budget.remaining(userId)) > 0) {
    try {
      const budget = deps.maxContextTokens - SUMMARY_TOKENS - 200;
      const lines: string[] = [];
      let used = 0;
      for (let i = visible.length - 1; i >= 0; i--) {
        const m = visible[i]!;
        const line = `${names.get(m.senderId) ?? 'Someone'}: ${m.text}`;
        const cost = turnTokens(line);
        if (used + cost > budget) break;
        lines.unshift(line);
        used += cost;
      }
      const { text, usage } = await provider.complete(
        [
          {
            role: 'system',
            content:
              'You are cohortGPT. Summarise the chat messages below for a member who has not read them: the main ' +
              'topics, decisions, questions addressed to people, and who said what when it matters. A few short ' +
              'bullet points in Markdown, no preamble.',
          },
          { role: 'user', content: lines.join('\n') },
        ],
        SUMMARY_TOKENS,
      );
      const spent = usage ? usage.promptTokens + usage.completionTokens : used + turnTokens(text);
      await deps.budget.charge(userId, spent);
      if (text.trim() !== '') {
        deps.metrics.summaries.inc({ kind: 'model' });
        return { summary: text.trim(), fromSeq, toSeq };
      }
    } catch (err) {
      deps.logger.warn({ err, chatId }, 'model summary failed: extractive summary instead');
    }
  }
  deps.metrics.summaries.inc({ kind: 'extractive' });
  return { summary: extractiveSummary(visible, names), fromSeq, toSeq };
}
