import { randomUUID } from 'node:crypto';
import {
  ANSWER_MAX_LENGTH,
  ASSISTANT_USER_ID,
  callsAssistant,
  isAppError,
  type AiErrorCode,
  type AiStreamStore,
  type AiUsage,
  type Chat,
  type EventBus,
  type Logger,
  type Message,
  type MessageAi,
  type TriggerDelivery,
} from '@cohort/common';
import type { ChatApi } from '../clients/chat-api.client';
import type { UserNames } from '../clients/user-names.client';
import type { TokenBudget } from '../limits/token-budget';
import { loadContext } from '../memory/context-loader';
import { buildPrompt } from '../memory/prompt-builder';
import type { Recall } from '../memory/recall';
import { countTokens } from '../memory/tokenizer';
import type { AssistantMetrics } from '../metrics';
import { PartialFailure, type ModelProvider } from '../provider/model-provider';
import { FAILURE_TEXT, ProviderFailure } from '../provider/provider-errors';
import { createDeltaStreamer, type DeltaStreamer } from './delta-streamer';
import { nameChatAfterFirstAnswer } from './chat-title';
import { SHUTDOWN, type StopRequests } from './stop-requests';
import type { TriggerStreams } from './trigger-streams';

export interface AnswerPipelineDeps {
  chatApi: ChatApi;
  names: UserNames;
  /** Undefined: no model configured (answers say how to configure one). */
  provider: ModelProvider | undefined;
  recall: Recall;
  budget: TokenBudget;
  streams: TriggerStreams;
  streamStore: AiStreamStore;
  bus: EventBus;
  stops: StopRequests;
  metrics: AssistantMetrics;
  logger: Logger;
  settings: {
    maxContextTokens: number;
    maxAnswerTokens: number;
    coalesceMs: number;
  };
  /** False once the service is closing: storing stops retrying (the trigger stays pending for another replica). */
  running: () => boolean;
}

/** Room kept below the answers route's limit for a failure note after partial text. */
const NOTE_ROOM = 600;
export const MAX_GENERATED_CHARS = ANSWER_MAX_LENGTH - NOTE_ROOM;

type Outcome =
  | { status: 'done' | 'stopped'; usage?: AiUsage | undefined }
  | { status: 'failed'; code: AiErrorCode; usage?: AiUsage | undefined };

const clientMsgIdOf = (messageId: string) => `ai:${messageId}`;

class Abandoned extends Error {
  constructor() {
    super('closing: the trigger stays pending for another replica');
  }
}

/**
 * One trigger, start to end (DESIGN §7): read the chat and the message as the assistant; decide; take (or take
 * over) the trigger's stream; check the asker's budget; build the prompt; stream the model's answer as coalesced
 * deltas; store it through chat-api (idempotent on `ai:<messageId>`, retried until stored); end the stream. Every
 * path that answers ends in exactly one stored answer whose text is the stream's deltas joined.
 */
export function createAnswerPipeline(deps: AnswerPipelineDeps) {
  const { chatApi, streamStore, logger, metrics } = deps;

  const storeUntilDone = async (chat: Chat, question: Message, text: string, ai: MessageAi) => {
    let pause = 200;
    for (;;) {
      try {
        return await chatApi.storeAnswer(chat.id, {
          text,
          clientMsgId: clientMsgIdOf(question.id),
          replyTo: question.id,
          ai,
        });
      } catch (err) {
        // The assistant was removed from the chat, or the message is gone: nothing will ever accept this answer.
        if (isAppError(err) && err.status >= 400 && err.status < 500 && err.status !== 429) {
          logger.warn({ chatId: chat.id, code: err.code, status: err.status }, 'answer refused: dropped');
          return undefined;
        }
        if (!deps.running()) throw new Abandoned();
        logger.warn({ err, chatId: chat.id, retryInMs: pause }, 'storing the answer failed: retrying');
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(5_000, pause * 2);
      }
    }
  };

  const finish = async (
    chat: Chat,
    question: Message,
    streamId: string,
    streamer: DeltaStreamer,
    outcome: Outcome,
    model: string,
  ) => {
    if (outcome.status === 'failed') {
      const note = FAILURE_TEXT[outcome.code];
      streamer.push(streamer.text === '' ? note : `\n\n_${note}_`);
    } else if (streamer.text.trim() === '') {
      streamer.push(outcome.status === 'stopped' ? '_Stopped before any answer._' : '_No answer._');
    }
    await streamer.flush();
    const ai: MessageAi = {
      streamId,
      status: outcome.status,
      model,
      ...(outcome.usage ? { usage: outcome.usage } : {}),
      ...(outcome.status === 'failed'
        ? { error: { code: outcome.code, message: FAILURE_TEXT[outcome.code] } }
        : {}),
    };
    // Every delta is out: the stream ends before the answer is stored, so a client that sees the stored answer
    // and then resumes is told `ended` (a takeover of an ended stream stores its text as it is).
    await streamStore
      .end(streamId)
      .catch((err: unknown) => logger.warn({ err, streamId }, 'stream end failed'));
    const stored = await storeUntilDone(chat, question, streamer.text, ai);
    metrics.answers.inc({ outcome: outcome.status === 'failed' ? `failed:${outcome.code}` : outcome.status });
    logger.info(
      {
        chatId: chat.id,
        messageId: question.id,
        streamId,
        status: outcome.status,
        chars: streamer.text.length,
      },
      'answer stored',
    );
    if (stored && chat.type === 'assistant') {
      await nameChatAfterFirstAnswer(chatApi, chat, question.text, logger);
    }
  };

  /** A trigger whose stream was started by a replica that died: finish it once, with what it streamed. */
  const takeOver = async (
    chat: Chat,
    question: Message,
    streamId: string,
  ): Promise<'finished' | 'restart'> => {
    const assistant = await chatApi.asAssistant();
    const after = await chatApi.listMessages(chat.id, { after: question.seq, limit: 100 }, assistant);
    const answered = after.some(
      (m) => m.senderId === ASSISTANT_USER_ID && m.clientMsgId === clientMsgIdOf(question.id),
    );
    const snapshot = await streamStore.read(streamId, -1);
    if (answered) {
      if (snapshot && !snapshot.ended) await streamStore.end(streamId);
      return 'finished';
    }
    // Nothing reached anyone yet: generating afresh under the same stream is indistinguishable from one answer.
    if (!snapshot || snapshot.deltas.length === 0) return 'restart';
    const sofar = snapshot.deltas.map((d) => d.delta).join('');
    const model = deps.provider?.model ?? 'none';
    if (snapshot.ended) {
      // The replica died between ending the stream and storing it: the text is complete, only its outcome is lost.
      await storeUntilDone(chat, question, sofar, {
        streamId,
        status: 'failed',
        model,
        error: { code: 'ai_interrupted', message: FAILURE_TEXT.ai_interrupted },
      });
      return 'finished';
    }
    const streamer = createDeltaStreamer({
      streamId,
      chatId: chat.id,
      replyTo: question.id,
      store: streamStore,
      bus: deps.bus,
      coalesceMs: 0,
      logger,
      nextIndex: snapshot.deltas.length,
    });
    // The text so far is what clients saw; the streamer continues after it.
    const continued: DeltaStreamer = {
      push: (text) => streamer.push(text),
      flush: () => streamer.flush(),
      get text() {
        return sofar + streamer.text;
      },
    };
    logger.info(
      { chatId: chat.id, streamId, deltas: snapshot.deltas.length },
      'taking over an interrupted answer',
    );
    await finish(chat, question, streamId, continued, { status: 'failed', code: 'ai_interrupted' }, model);
    return 'finished';
  };

  const generate = async (chat: Chat, question: Message, streamId: string, firstPage: Message[]) => {
    const streamer = createDeltaStreamer({
      streamId,
      chatId: chat.id,
      replyTo: question.id,
      store: streamStore,
      bus: deps.bus,
      coalesceMs: deps.settings.coalesceMs,
      logger,
      onDelta: (n) => metrics.deltas.inc(n),
    });
    await streamStore.open(streamId, { chatId: chat.id, replyTo: question.id });
    const { provider } = deps;
    if (!provider) {
      await finish(
        chat,
        question,
        streamId,
        streamer,
        { status: 'failed', code: 'ai_not_configured' },
        'none',
      );
      return;
    }
    const remaining = await deps.budget.remaining(question.senderId);
    if (remaining <= 0) {
      await finish(
        chat,
        question,
        streamId,
        streamer,
        { status: 'failed', code: 'ai_budget_exceeded' },
        provider.model,
      );
      return;
    }
    const phaseStart = performance.now();
    const assistant = await chatApi.asAssistant();
    const memberIds = (chat.members ?? []).map((m) => m.userId);
    // Independent reads at once: the chat's messages (and the asker's other assistant chats), and the names.
    const [context, names] = await Promise.all([
      loadContext(
        chatApi,
        chat,
        question.seq,
        assistant,
        () => chatApi.onBehalfOf(question.senderId),
        firstPage,
      ),
      deps.names.names([...memberIds, question.senderId], assistant),
    ]);
    const loadedAt = performance.now();
    const prompt = await buildPrompt(
      {
        chat,
        question,
        recent: context.recent,
        older: context.older,
        names,
        maxContextTokens: deps.settings.maxContextTokens,
        answerTokens: deps.settings.maxAnswerTokens,
      },
      deps.recall,
    );
    logger.debug(
      {
        chatId: chat.id,
        streamId,
        promptTokens: prompt.tokens,
        loadMs: Math.round(loadedAt - phaseStart),
        buildMs: Math.round(performance.now() - loadedAt),
      },
      'prompt built',
    );
    // Never let one answer spend past the budget by more than its prompt.
    const maxTokens = Math.max(16, Math.min(deps.settings.maxAnswerTokens, remaining));
    const stop = deps.stops.track(chat.id, streamId);
    const startedAt = performance.now();
    let outcome: Outcome;
    try {
      const result = await provider.generate({
        messages: prompt.messages,
        maxTokens,
        signal: stop.signal,
        onDelta: (text) => streamer.push(text),
        onFirstToken: () => metrics.firstToken.observe((performance.now() - startedAt) / 1000),
      });
      // Cut by this replica's shutdown, not by a member: left pending, another replica finishes it
      // (ai_interrupted with what was streamed), so the stored answer never says "stopped" for a restart.
      if (stop.signal.aborted && stop.signal.reason === SHUTDOWN) {
        await streamer.flush();
        throw new Abandoned();
      }
      outcome = { status: result.finish === 'stopped' ? 'stopped' : 'done', usage: result.usage };
    } catch (err) {
      if (!(err instanceof ProviderFailure) || !deps.running()) throw err;
      logger.warn(
        {
          chatId: chat.id,
          streamId,
          code: err.code,
          reason: err.reason,
          partial: err instanceof PartialFailure,
        },
        'provider failed',
      );
      outcome = { status: 'failed', code: err.code };
    } finally {
      stop.release();
    }
    const usage: AiUsage = outcome.usage ?? {
      promptTokens: outcome.status === 'failed' && streamer.text === '' ? 0 : prompt.tokens,
      completionTokens: countTokens(streamer.text),
    };
    metrics.tokens.inc({ kind: 'prompt' }, usage.promptTokens);
    metrics.tokens.inc({ kind: 'completion' }, usage.completionTokens);
    await deps.budget
      .charge(question.senderId, usage.promptTokens + usage.completionTokens)
      .catch((err: unknown) => logger.warn({ err }, 'charging the token budget failed'));
    await finish(chat, question, streamId, streamer, { ...outcome, usage: outcome.usage }, provider.model);
  };

  return {
    async handle({ trigger }: TriggerDelivery): Promise<void> {
      logger.debug({ chatId: trigger.chatId, messageId: trigger.messageId }, 'trigger taken');
      const assistant = await chatApi.asAssistant();
      let chat: Chat;
      try {
        chat = await chatApi.getChat(trigger.chatId, assistant);
      } catch (err) {
        if (isAppError(err) && err.status === 404) return; // not (or no longer) a member: nothing to answer
        throw err;
      }
      // The page ending at the trigger: the message itself, and the start of the prompt's short-term memory.
      const page = await chatApi.listMessages(chat.id, { before: trigger.seq + 1, limit: 100 }, assistant);
      const question = page.find((m) => m.id === trigger.messageId);
      if (!question || question.deletedAt || question.senderId === ASSISTANT_USER_ID) return;
      const answers = chat.type === 'assistant' || (chat.type === 'group' && callsAssistant(question));
      if (!answers) return;

      const claimed = await deps.streams.claim(question.id, randomUUID());
      if (claimed.existed && (await takeOver(chat, question, claimed.streamId)) === 'finished') return;
      await generate(chat, question, claimed.streamId, page);
    },
  };
}
