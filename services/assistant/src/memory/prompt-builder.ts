import { ASSISTANT_USER_ID, type Chat, type Message } from '@cohort/common';
import type { ChatTurn } from '../provider/model-provider';
import type { Recall, RecallCandidate } from './recall';
import { turnTokens } from './tokenizer';

export interface PromptInput {
  chat: Chat;
  /** The message being answered. */
  question: Message;
  /** The chat's messages up to and including the question, ascending (the newest pages). */
  recent: Message[];
  /** Older messages of the chat and, in assistant chats, of the asker's other assistant chats. */
  older: RecallCandidate[];
  names: Map<string, string>;
  maxContextTokens: number;
  answerTokens: number;
}

export interface BuiltPrompt {
  messages: ChatTurn[];
  /** Tokens of the prompt as counted here (the budget estimate when the provider reports no usage). */
  tokens: number;
  /** Ids of the messages included, short-term then long-term (for tests and debugging, never logged with text). */
  shortTermIds: string[];
  longTermIds: string[];
}

/** Share of the prompt budget short-term memory may take before long-term memory gets the rest. */
const SHORT_TERM_SHARE = 0.75;

const visible = (m: Message) => !m.deletedAt && m.text.trim() !== '';

function systemPrompt(chat: Chat): string {
  const where =
    chat.type === 'assistant'
      ? 'a personal conversation with one user'
      : `the group chat "${chat.title}" with several people`;
  return [
    'You are cohortGPT, the AI assistant of the cohortGPT chat app. You are a member of ' + where + '.',
    'Messages from people start with the sender’s display name and a colon; refer to people by name.',
    'Answer the latest message addressed to you, using the conversation for context. Be concise and accurate;',
    'say so when you do not know. Format with simple Markdown (bold, italics, inline code, code blocks, lists, links).',
  ].join(' ');
}

function turnOf(message: Message, names: Map<string, string>): ChatTurn {
  if (message.senderId === ASSISTANT_USER_ID) return { role: 'assistant', content: message.text };
  return { role: 'user', content: `${names.get(message.senderId) ?? 'Someone'}: ${message.text}` };
}

function recalledLine(candidate: RecallCandidate, names: Map<string, string>): string {
  const { message } = candidate;
  const who =
    message.senderId === ASSISTANT_USER_ID ? 'cohortGPT' : (names.get(message.senderId) ?? 'Someone');
  const where = candidate.origin === 'other' ? ' (another conversation with you)' : '';
  return `- [${message.createdAt.slice(0, 10)}]${where} ${who}: ${message.text}`;
}

/**
 * The chat as of the question: messages up to it, plus the assistant's answers to earlier messages that were stored
 * after it (questions queued behind each other), each placed right after the message it answers.
 */
function conversationUpTo(messages: readonly Message[], question: Message): Message[] {
  const before = messages.filter((m) => visible(m) && m.seq <= question.seq && m.id !== question.id);
  const ids = new Set(before.map((m) => m.id));
  const lateAnswers = messages.filter(
    (m) =>
      visible(m) &&
      m.seq > question.seq &&
      m.senderId === ASSISTANT_USER_ID &&
      m.replyTo &&
      ids.has(m.replyTo),
  );
  const ordered: Message[] = [];
  for (const m of before) {
    ordered.push(m);
    ordered.push(...lateAnswers.filter((a) => a.replyTo === m.id));
  }
  if (visible(question)) ordered.push(question);
  return ordered;
}

/**
 * What the model sees (DESIGN §7): the system prompt; long-term memory (older messages relevant to the question,
 * from this chat or the asker's other assistant chats, never deleted ones) as a second system turn; then the most
 * recent messages that fit, ending with the question. Token counts come from a real tokenizer.
 */
export async function buildPrompt(input: PromptInput, recall: Recall): Promise<BuiltPrompt> {
  const system: ChatTurn = { role: 'system', content: systemPrompt(input.chat) };
  const budget = input.maxContextTokens - input.answerTokens - turnTokens(system.content);
  const recent = conversationUpTo(input.recent, input.question);

  // Short-term: newest first until the share is spent; the question is always in.
  const shortTerm: Message[] = [];
  let used = 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    const message = recent[i]!;
    const cost = turnTokens(turnOf(message, input.names).content);
    const isQuestion = message.id === input.question.id;
    if (!isQuestion && used + cost > budget * SHORT_TERM_SHARE) break;
    shortTerm.unshift(message);
    used += cost;
  }
  const oldestShort = shortTerm[0]?.seq ?? input.question.seq;
  const inWindow = new Set(shortTerm.map((m) => m.id));

  // Long-term: relevant older messages outside the window, while the rest of the budget lasts.
  const candidates = input.older.filter(
    (c) =>
      visible(c.message) &&
      !inWindow.has(c.message.id) &&
      (c.origin === 'other' || c.message.seq < oldestShort),
  );
  const ranked = await recall.rank(input.question.text, candidates);
  const recalled: RecallCandidate[] = [];
  let memoryTokens = 0;
  const header = 'Earlier messages that may be relevant (oldest context first):';
  for (const candidate of ranked) {
    const cost = turnTokens(recalledLine(candidate, input.names));
    if (used + memoryTokens + cost + turnTokens(header) > budget) continue;
    recalled.push(candidate);
    memoryTokens += cost;
    if (recalled.length >= 30) break;
  }
  recalled.sort((a, b) => a.message.createdAt.localeCompare(b.message.createdAt));

  const messages: ChatTurn[] = [system];
  if (recalled.length > 0) {
    messages.push({
      role: 'system',
      content: [header, ...recalled.map((c) => recalledLine(c, input.names))].join('\n'),
    });
    memoryTokens += turnTokens(header);
  }
  messages.push(...shortTerm.map((m) => turnOf(m, input.names)));
  return {
    messages,
    tokens: turnTokens(system.content) + used + memoryTokens,
    shortTermIds: shortTerm.map((m) => m.id),
    longTermIds: recalled.map((c) => c.message.id),
  };
}
