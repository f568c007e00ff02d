/**
 * The bare baseline's answer to `@cohortgpt`: what a team would write with Socket.IO and the official `openai` SDK
 * alone, for the assistant part's bare side. The process whose socket received the question calls the model
 * (`stream: true`), coalesces its tokens with the product's rule (a buffer whose timer starts at its first token and
 * sends after `coalesceMs`), emits each delta as `ai:delta` to the chat's room (the redis adapter carries it to the
 * other processes' sockets) with the product's payload, then posts the answer as a message shaped like the
 * product's stored AI answer. No persistence, no stream store, no lease, no context, no budget.
 *
 * Env (the names the product's assistant reads, so both stacks get the same values): AI_BASE_URL (unset: no
 * assistant), AI_MODEL, AI_API_KEY, AI_COALESCE_MS.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { Server } from 'socket.io';

/** What a question must contain for the bare assistant to answer it (the product's mention). */
export const ASSISTANT_MENTION = '@cohortgpt';
/** The sender id of the bare assistant's answers. */
export const BARE_ASSISTANT_ID = 'cohortgpt';

export interface BareAssistantOptions {
  baseUrl: string;
  model: string;
  apiKey: string;
  coalesceMs: number;
}

/** The options from the environment; undefined without AI_BASE_URL. */
export function bareAssistantOptions(env: NodeJS.ProcessEnv): BareAssistantOptions | undefined {
  if (!env.AI_BASE_URL) return undefined;
  const coalesceMs = Number(env.AI_COALESCE_MS ?? 50);
  return {
    baseUrl: env.AI_BASE_URL,
    model: env.AI_MODEL ?? 'fake-model',
    apiKey: env.AI_API_KEY ?? 'not-needed',
    coalesceMs: Number.isFinite(coalesceMs) && coalesceMs >= 0 ? coalesceMs : 50,
  };
}

/** The question being answered: a message the bare server stored and broadcast. */
export interface Question {
  id: string;
  chatId: string;
  text: string;
}

/** A message's own fields; the bare server gives it an id, a seq and a time, keeps it and broadcasts it. */
export interface MessageDraft {
  chatId: string;
  senderId: string;
  text: string;
  clientMsgId: string;
  /** The answer's question and how the answer was generated (the product's `Message.ai`), on answers only. */
  replyTo?: string;
  ai?: { streamId: string; status: 'done' | 'failed'; model: string };
}

export type PostMessage = (draft: MessageDraft) => unknown;

interface Coalescer {
  push(text: string): void;
  /** Sends what is buffered now. */
  flush(): void;
}

/** The product's coalescing (services/assistant delta-streamer): at most one delta every `coalesceMs`. */
function createCoalescer(coalesceMs: number, send: (delta: string) => void): Coalescer {
  let buffer = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer === '') return;
    const delta = buffer;
    buffer = '';
    send(delta);
  };
  return {
    push(text) {
      if (text === '') return;
      buffer += text;
      if (coalesceMs === 0) flush();
      else timer ??= setTimeout(flush, coalesceMs);
    },
    flush,
  };
}

/** Streams the model's answer to `question` into `push`, one content chunk at a time. */
async function streamAnswer(
  client: OpenAI,
  model: string,
  question: Question,
  push: (text: string) => void,
): Promise<void> {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: question.text }],
    stream: true,
  });
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta?.content;
    if (content) push(content);
  }
}

/**
 * An answerer bound to one Socket.IO server: `answer(question)` streams the deltas to `chat:<chatId>` and posts the
 * final answer through `post` (which broadcasts it as `chat:new`). A provider failure posts a `failed` answer.
 */
export function createBareAssistant(
  io: Server,
  options: BareAssistantOptions,
  post: PostMessage,
): (question: Question) => Promise<void> {
  const client = new OpenAI({ baseURL: options.baseUrl, apiKey: options.apiKey, maxRetries: 0 });
  return async (question) => {
    const { id: replyTo, chatId } = question;
    const streamId = randomUUID();
    let index = 0;
    const coalescer = createCoalescer(options.coalesceMs, (delta) => {
      io.to(`chat:${chatId}`).emit('ai:delta', { chatId, streamId, replyTo, index, delta });
      index += 1;
    });
    let text = '';
    let status: 'done' | 'failed' = 'done';
    try {
      await streamAnswer(client, options.model, question, (t) => {
        text += t;
        coalescer.push(t);
      });
    } catch (err) {
      status = 'failed';
      process.stderr.write(`bare assistant: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    coalescer.flush();
    post({
      chatId,
      senderId: BARE_ASSISTANT_ID,
      text,
      clientMsgId: streamId,
      replyTo,
      ai: { streamId, status, model: options.model },
    });
  };
}
