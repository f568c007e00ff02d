import { waitFor } from '@cohort/testkit';
import type { RunningAssistant } from '../src/main';
import { joinDeltas, startStack, type Stack, type TestUser } from './support/stack';

const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

describe('provider faults, stops and budgets: every trigger ends in exactly one stored answer', () => {
  let stack: Stack;
  let alice: TestUser;
  let replica: RunningAssistant | undefined;
  let generation = 0;

  const useReplica = async (extra: Record<string, string> = {}) => {
    await replica?.close();
    replica = await stack.startAssistant(`faults-${generation++}`, extra);
    return replica;
  };

  /** Asks in a fresh assistant chat and returns the stored answer, checking it equals its stream. */
  const ask = async (text: string) => {
    const chat = await stack.createAssistantChat(alice);
    const question = await stack.send(alice, chat.id, text);
    const answer = await stack.answerTo(alice, chat.id, question.id, 20_000);
    await waitFor(() => {
      expect(joinDeltas(stack.deltas, answer.ai!.streamId)).toEqual({
        text: answer.text,
        duplicates: 0,
        gaps: 0,
      });
    });
    const all = await stack.messages(alice, chat.id);
    expect(all.filter((m) => m.replyTo === question.id)).toHaveLength(1);
    return answer;
  };

  beforeAll(async () => {
    stack = await startStack();
    alice = await stack.register('Alice');
  }, 60_000);

  afterEach(() => {
    stack.fake.reset();
    stack.fake.setScript({});
  });

  afterAll(async () => {
    await replica?.close();
    await stack?.close();
  });

  it('retries 429 after the Retry-After the provider asked for, then answers', async () => {
    await useReplica();
    stack.fake.enqueue({ rateLimited: 1, retryAfterSeconds: 1 }, { rateLimited: 1, retryAfterSeconds: 1 });
    stack.fake.setScript({ text: 'Answered after waiting.' });
    const answer = await ask('Are you there?');
    expect(answer.ai).toMatchObject({ status: 'done' });
    expect(answer.text).toBe('Answered after waiting.');
    const calls = stack.fake.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(calls).toHaveLength(3);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(950);
  });

  it('stores ai_provider_unavailable when the provider keeps failing past the retry budget', async () => {
    await useReplica({ AI_RETRY_BUDGET_MS: '1000' });
    stack.fake.setScript({ serverErrors: 1000 });
    const answer = await ask('Hello?');
    expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_provider_unavailable' } });
    expect(answer.text).toContain('could not reach');
    expect(stack.fake.completions().length).toBeGreaterThan(1);
  });

  it('opens the circuit after repeated failures and then fails fast without calling the provider', async () => {
    await useReplica({ AI_RETRY_BUDGET_MS: '1', AI_BREAKER_FAILURES: '2', AI_BREAKER_RESET_MS: '600000' });
    stack.fake.setScript({ serverErrors: 1000 });
    await ask('one');
    await ask('two');
    const before = stack.fake.completions().length;
    const answer = await ask('three');
    expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_provider_unavailable' } });
    expect(stack.fake.completions().length).toBe(before);
  });

  it('stores ai_timeout when no first token arrives in time', async () => {
    await useReplica({ AI_FIRST_TOKEN_TIMEOUT_MS: '800' });
    stack.fake.setScript({ stallBeforeFirstMs: 10_000 });
    const answer = await ask('Slow?');
    expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_timeout' } });
  });

  it('keeps the streamed part and stores ai_timeout when the stream stalls midway', async () => {
    await useReplica({ AI_IDLE_TIMEOUT_MS: '800' });
    stack.fake.setScript({ text: LONG, stallAfterChunks: 3, stallMs: 10_000 });
    const answer = await ask('Stall?');
    expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_timeout' } });
    expect(answer.text.startsWith('word0 word1 word2')).toBe(true);
    expect(answer.text).not.toContain('word3');
  });

  it('keeps the streamed part and stores ai_provider_unavailable when the connection drops midway', async () => {
    await useReplica();
    stack.fake.setScript({ text: LONG, closeAfterChunks: 2 });
    const answer = await ask('Drop?');
    expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_provider_unavailable' } });
    expect(answer.text.startsWith('word0 word1')).toBe(true);
  });

  it('stops an answer when a member asks (ai:stop on the bus), keeping what was generated', async () => {
    await useReplica();
    stack.fake.setScript({ text: LONG, chunkDelayMs: 100 });
    const chat = await stack.createAssistantChat(alice);
    const question = await stack.send(alice, chat.id, 'Count slowly');
    const first = await stack.firstDelta(question.id);
    await stack.bus.publish('ai-control', {
      type: 'ai:stop',
      chatId: chat.id,
      streamId: first.streamId,
      userId: alice.id,
    });
    const answer = await stack.answerTo(alice, chat.id, question.id);
    expect(answer.ai).toMatchObject({ status: 'stopped', streamId: first.streamId });
    expect(answer.text.length).toBeGreaterThan(0);
    expect(answer.text.length).toBeLessThan(LONG.length);
    await waitFor(() => {
      expect(joinDeltas(stack.deltas, first.streamId).text).toBe(answer.text);
    });
  });

  it('ignores a stop naming another chat', async () => {
    await useReplica();
    stack.fake.setScript({ text: 'short and complete', chunkDelayMs: 50 });
    const chat = await stack.createAssistantChat(alice);
    const other = await stack.createAssistantChat(alice);
    const question = await stack.send(alice, chat.id, 'Go on');
    const first = await stack.firstDelta(question.id);
    await stack.bus.publish('ai-control', {
      type: 'ai:stop',
      chatId: other.id,
      streamId: first.streamId,
      userId: alice.id,
    });
    const answer = await stack.answerTo(alice, chat.id, question.id);
    expect(answer.ai?.status).toBe('done');
    expect(answer.text).toBe('short and complete');
  });

  it('answers ai_budget_exceeded once the asker spent the daily budget', async () => {
    await useReplica({ AI_DAILY_TOKENS_PER_USER: '40' });
    const bob = await stack.register('Bob');
    stack.fake.setScript({ text: LONG });
    const chat = await stack.createAssistantChat(bob);
    const q1 = await stack.send(bob, chat.id, 'first question');
    const a1 = await stack.answerTo(bob, chat.id, q1.id);
    expect(a1.ai?.status).toBe('done');
    const q2 = await stack.send(bob, chat.id, 'second question');
    const a2 = await stack.answerTo(bob, chat.id, q2.id);
    expect(a2.ai).toMatchObject({ status: 'failed', error: { code: 'ai_budget_exceeded' } });
    // Another user's budget is their own.
    const carol = await stack.register('Carol');
    const carolsChat = await stack.createAssistantChat(carol);
    const q3 = await stack.send(carol, carolsChat.id, 'mine is untouched');
    expect((await stack.answerTo(carol, carolsChat.id, q3.id)).ai?.status).toBe('done');
  });

  it('without a model answers ai_not_configured saying how to configure one, and reports itself disabled', async () => {
    const running = await useReplica({ AI_BASE_URL: '', AI_MODEL: '' });
    const answer = await ask('Anyone home?');
    expect(answer.ai).toMatchObject({
      status: 'failed',
      error: { code: 'ai_not_configured' },
      model: 'none',
    });
    expect(answer.text).toContain('AI_BASE_URL');
    const info = await stack.request(`http://127.0.0.1:${running.port}`, alice, 'GET', '/api/assistant');
    expect(info).toEqual({
      status: 200,
      body: { assistant: expect.objectContaining({ enabled: false, model: null }) as unknown },
    });
  });
});
