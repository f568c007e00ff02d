import { ASSISTANT_CHAT_DEFAULT_TITLE, type Chat, type Logger } from '@cohort/common';
import type { ChatApi } from '../clients/chat-api.client';

const MAX_TITLE = 60;

/** A short title from the first question: its first line, Markdown marks and mentions dropped, cut at a word. */
export function titleFromQuestion(question: string): string {
  const line =
    question
      .split('\n')
      .map((l) =>
        l
          .replace(/@cohortgpt\b/gi, '')
          .replace(/[*_`#>[\]()]/g, '')
          .replace(/\s+/g, ' ')
          .trim(),
      )
      .find((l) => l.length > 0) ?? '';
  if (line.length <= MAX_TITLE) return line || 'Conversation';
  const cut = line.slice(0, MAX_TITLE);
  const space = cut.lastIndexOf(' ');
  return `${(space > 20 ? cut.slice(0, space) : cut).trim()}…`;
}

/** Names an assistant chat after its first answer, only while it still has the default (or an empty) title. */
export async function nameChatAfterFirstAnswer(
  chatApi: ChatApi,
  chat: Chat,
  question: string,
  logger: Logger,
): Promise<void> {
  try {
    const current = await chatApi.getChat(chat.id, await chatApi.asAssistant());
    if (current.title.trim() !== '' && current.title !== ASSISTANT_CHAT_DEFAULT_TITLE) return;
    await chatApi.renameChat(chat.id, titleFromQuestion(question));
  } catch (err) {
    logger.warn({ err, chatId: chat.id }, 'naming the chat failed');
  }
}
