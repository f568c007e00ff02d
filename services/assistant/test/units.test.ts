import OpenAI from 'openai';
import { createMemoryTriggerLog, type AssistantTrigger, type Message } from '@cohort/common';
import { testLogger } from '@cohort/testkit';
import { extractiveSummary } from '../src/use-cases/extractive-summary';
import { titleFromQuestion } from '../src/work/chat-title';
import { isRetryable, retryAfterMs, retryDelayMs } from '../src/provider/retry-policy';
import { countTokens } from '../src/memory/tokenizer';

const trigger = (chatId: string, seq: number): AssistantTrigger => ({
  chatId,
  messageId: `${chatId}-${seq}`,
  seq,
  senderId: 'u',
});

describe('the in-process trigger log', () => {
  it('hands a chat’s triggers over one at a time in order, other chats alongside', async () => {
    const log = createMemoryTriggerLog(testLogger());
    const events: string[] = [];
    let releaseA: () => void = () => undefined;
    await log.append(trigger('a', 1));
    await log.append(trigger('a', 2));
    await log.append(trigger('b', 1));
    const done = new Promise<void>((resolve) => {
      void log.start(async ({ trigger: t }) => {
        events.push(`start ${t.chatId}${t.seq}`);
        if (t.chatId === 'a' && t.seq === 1) await new Promise<void>((r) => (releaseA = r));
        events.push(`end ${t.chatId}${t.seq}`);
        if (events.length === 6) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['start a1', 'start b1', 'end b1']);
    releaseA();
    await done;
    expect(events).toEqual(['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
    await log.close();
  });

  it('retries a failed trigger, marked redelivered, before the chat’s next one', async () => {
    const log = createMemoryTriggerLog(testLogger());
    const seen: string[] = [];
    let failures = 1;
    const finished = new Promise<void>((resolve) => {
      void log.start(async ({ trigger: t, redelivered }) => {
        seen.push(`${t.seq}${redelivered ? 'r' : ''}`);
        if (t.seq === 1 && failures-- > 0) throw new Error('chat-api down');
        if (t.seq === 2) resolve();
      });
    });
    await log.append(trigger('a', 1));
    await log.append(trigger('a', 2));
    await finished;
    expect(seen).toEqual(['1', '1r', '2']);
    await log.close();
  });
});

describe('retry policy', () => {
  const apiError = (status: number, headers: Record<string, string> = {}) =>
    OpenAI.APIError.generate(status, { error: { message: 'x' } }, 'x', new Headers(headers));

  it('retries 429, 5xx and connection failures, not other 4xx or aborts', () => {
    expect(isRetryable(apiError(429))).toBe(true);
    expect(isRetryable(apiError(503))).toBe(true);
    expect(isRetryable(new OpenAI.APIConnectionError({ message: 'refused' }))).toBe(true);
    expect(isRetryable(apiError(400))).toBe(false);
    expect(isRetryable(apiError(401))).toBe(false);
    expect(isRetryable(new OpenAI.APIUserAbortError())).toBe(false);
  });

  it('waits what Retry-After says (seconds, ms, or a date), else backs off with jitter under a cap', () => {
    expect(retryDelayMs(apiError(429, { 'retry-after': '3' }), 1)).toBe(3000);
    expect(retryDelayMs(apiError(429, { 'retry-after-ms': '250' }), 1)).toBe(250);
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Fri, 04 Dec 2026 12:00:05 GMT' }), now)).toBe(5000);
    expect(retryDelayMs(apiError(500), 3, () => 1)).toBe(1000);
    expect(retryDelayMs(apiError(500), 30, () => 1)).toBe(8000);
    expect(retryDelayMs(apiError(500), 3, () => 0)).toBe(0);
  });
});

describe('small pieces', () => {
  it('names a chat from the question’s first line, cut at a word', () => {
    expect(titleFromQuestion('@cohortgpt **How** do I bake bread?\nmore')).toBe('How do I bake bread?');
    const long = titleFromQuestion('word '.repeat(40));
    expect(long.length).toBeLessThanOrEqual(61);
    expect(long.endsWith('…')).toBe(true);
    expect(titleFromQuestion('   ')).toBe('Conversation');
  });

  it('counts tokens with a real tokenizer, not characters/4', () => {
    expect(countTokens('hello world')).toBe(2);
    expect(countTokens('antidisestablishmentarianism')).not.toBe(Math.ceil(28 / 4));
  });

  it('extractive summary: counts, senders, and the informative messages quoted in order', () => {
    const m = (seq: number, senderId: string, text: string, deleted = false): Message => ({
      id: `m${seq}`,
      chatId: 'c',
      seq,
      senderId,
      text,
      clientMsgId: `c${seq}`,
      createdAt: new Date(seq * 1000).toISOString(),
      version: 1,
      ...(deleted ? { deletedAt: new Date().toISOString() } : {}),
    });
    const names = new Map([
      ['a', 'Ann'],
      ['b', 'Ben'],
    ]);
    const summary = extractiveSummary(
      [
        m(1, 'a', 'ok'),
        m(2, 'b', 'The database migration failed because the index build ran out of disk'),
        m(3, 'a', 'secret', true),
        m(4, 'a', 'I will add disk to the database server and rerun the migration tonight'),
        m(5, 'b', 'thanks'),
      ],
      names,
      { quotes: 2 },
    );
    expect(summary.split('\n')[0]).toBe('4 new messages from Ann (2), Ben (2). The most informative:');
    expect(summary).toContain('> Ben: The database migration failed');
    expect(summary).toContain('> Ann: I will add disk');
    expect(summary.indexOf('> Ben:')).toBeLessThan(summary.indexOf('> Ann:'));
    expect(summary).not.toContain('secret');
    expect(extractiveSummary([], names)).toBe('Nothing new to catch up on.');
  });
});
