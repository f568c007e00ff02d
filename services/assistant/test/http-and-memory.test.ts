import { ASSISTANT_USER_ID, createMemoryAiStreamStore, createMemoryTriggerLog } from '@cohort/common';
import { testLogger } from '@cohort/testkit';
import { loadAssistantConfig } from '../src/config';
import { startAssistant, type RunningAssistant } from '../src/main';
import { startStack, type Stack, type TestUser } from './support/stack';

describe('HTTP routes (catch me up, the assistant card) and long-term memory by embeddings', () => {
  let stack: Stack;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  let replica: RunningAssistant | undefined;
  let generation = 0;
  const base = () => `http://127.0.0.1:${replica!.port}`;
  const useReplica = async (extra: Record<string, string> = {}) => {
    await replica?.close();
    replica = await stack.startAssistant(`http-${generation++}`, extra);
  };

  beforeAll(async () => {
    stack = await startStack();
    [alice, bob, eve] = await Promise.all([
      stack.register('Alice'),
      stack.register('Bob'),
      stack.register('Eve'),
    ]);
  }, 60_000);

  afterEach(() => {
    stack.fake.reset();
    stack.fake.setScript({});
  });

  afterAll(async () => {
    await replica?.close();
    await stack?.close();
  });

  /** A group where Bob wrote while Alice was away (her read marker stays at 0). */
  const unreadGroup = async () => {
    const group = await stack.createGroup(bob, 'Release', [alice], false);
    await stack.send(bob, group.id, 'The release candidate build failed on the payment service tests');
    await stack.send(bob, group.id, 'ok');
    await stack.send(bob, group.id, 'I fixed the payment service timeout and rebuilt the release candidate');
    await stack.send(bob, group.id, 'Release is scheduled for Friday after the payment service sign-off');
    return group;
  };

  it('GET /api/assistant describes the assistant and its model; without a forwarded identity it is 401', async () => {
    await useReplica();
    const info = await stack.request(base(), alice, 'GET', '/api/assistant');
    expect(info).toEqual({
      status: 200,
      body: {
        assistant: {
          id: ASSISTANT_USER_ID,
          fullName: { firstName: 'cohortGPT', lastName: 'Assistant' },
          enabled: true,
          model: 'fake-model',
        },
      },
    });
    const anonymous = await stack.request(base(), null, 'GET', '/api/assistant');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('catch me up: the model’s summary of the messages after my read marker', async () => {
    await useReplica();
    const group = await unreadGroup();
    stack.fake.setScript({ text: '- The release is on Friday.' });
    const res = await stack.request(base(), alice, 'POST', `/api/chats/${group.id}/summary`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ summary: '- The release is on Friday.', fromSeq: 1, toSeq: 4 });
    const prompt = JSON.stringify(stack.fake.completions().at(-1)!.messages);
    expect(prompt).toContain('Bob Test: Release is scheduled for Friday');
    expect(stack.fake.completions().at(-1)!.stream).toBe(true);
  });

  it('catch me up without a model: an extractive summary quoting the most informative messages', async () => {
    await useReplica({ AI_BASE_URL: '', AI_MODEL: '' });
    const group = await unreadGroup();
    const res = await stack.request(base(), alice, 'POST', `/api/chats/${group.id}/summary`);
    expect(res.status).toBe(200);
    const { summary, fromSeq, toSeq } = res.body as { summary: string; fromSeq: number; toSeq: number };
    expect([fromSeq, toSeq]).toEqual([1, 4]);
    expect(summary).toContain('4 new messages from Bob Test (4)');
    expect(summary).toContain('> Bob Test: Release is scheduled for Friday');
    expect(stack.fake.completions()).toHaveLength(0);
  });

  it('catch me up when the model fails falls back to the extractive summary', async () => {
    await useReplica({ AI_RETRY_BUDGET_MS: '1' });
    stack.fake.setScript({ serverErrors: 1000 });
    const group = await unreadGroup();
    const res = await stack.request(base(), alice, 'POST', `/api/chats/${group.id}/summary`);
    expect(res.status).toBe(200);
    expect((res.body as { summary: string }).summary).toContain('> Bob Test:');
  });

  it('catch me up refuses non-members (404), bad ids (400), and reports nothing new as 0..0', async () => {
    await useReplica();
    const group = await unreadGroup();
    const outsider = await stack.request(base(), eve, 'POST', `/api/chats/${group.id}/summary`);
    expect(outsider.status).toBe(404);
    expect(outsider.body).toMatchObject({ error: { code: 'chat_not_found' } });
    const bad = await stack.request(base(), alice, 'POST', '/api/chats/not-an-id/summary');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'validation_error' } });
    const objectId = await stack.request(
      base(),
      alice,
      'POST',
      `/api/chats/${encodeURIComponent('{"$gt":""}')}/summary`,
    );
    expect(objectId.status).toBe(400);
    const nothing = await stack.request(base(), bob, 'POST', `/api/chats/${group.id}/summary`);
    expect(nothing.status).toBe(200);
    expect(nothing.body).toMatchObject({ fromSeq: 0, toSeq: 0 });
    const unknown = await stack.request(base(), alice, 'GET', '/api/nothing-here');
    expect(unknown.status).toBe(404);
  });

  it('recalls older messages by embeddings stored in MongoDB, re-embedding an edited message', async () => {
    await useReplica({
      AI_EMBEDDING_MODEL: 'fake-embedding',
      MONGO_URL: stack.assistantMongoUrl,
      // A small context: only the newest messages fit the short-term window.
      AI_MAX_CONTEXT_TOKENS: '1000',
      AI_MAX_ANSWER_TOKENS: '200',
    });
    stack.fake.setScript({ text: 'Noted.' });
    const chat = await stack.createAssistantChat(alice);
    const old = await stack.send(alice, chat.id, 'My favourite colour is teal');
    await stack.answerTo(alice, chat.id, old.id);
    await stack.call(alice, 'PATCH', `/api/chats/${chat.id}/messages/${old.id}`, {
      text: 'My favourite colour is vermilion',
    });
    const filler = 'Unrelated chatter about the weather and trains and lunch plans today. '.repeat(12);
    for (let i = 0; i < 6; i++) {
      const m = await stack.send(alice, chat.id, `${filler} (${i})`);
      await stack.answerTo(alice, chat.id, m.id);
    }
    const question = await stack.send(alice, chat.id, 'What is my favourite colour?');
    await stack.answerTo(alice, chat.id, question.id);

    const last = stack.fake.completions().at(-1)!.messages!;
    const memory = last.find((m) => m.role === 'system' && m.content.startsWith('Earlier messages'));
    expect(memory?.content).toContain('vermilion');
    expect(JSON.stringify(last)).not.toContain('teal');
    // The short-term window did not reach back to it: it came from long-term memory.
    expect(last.filter((m) => m.role === 'user').some((m) => m.content.includes('vermilion'))).toBe(false);
    expect(stack.fake.requests.some((r) => r.path === '/v1/embeddings')).toBe(true);
  });
  it('embedded mode: no Redis, the launcher’s in-process trigger log and stream store', async () => {
    await replica?.close();
    replica = undefined;
    const triggerLog = createMemoryTriggerLog();
    const streamStore = createMemoryAiStreamStore();
    const embedded = await startAssistant({
      config: loadAssistantConfig(stack.assistantEnv('embedded', { REDIS_URL: '' })),
      logger: testLogger('assistant-embedded'),
      triggerLog,
      streamStore,
    });
    try {
      stack.fake.setScript({ text: 'Answered in-process.' });
      const chat = await stack.createAssistantChat(alice);
      const question = await stack.send(alice, chat.id, 'Are you embedded?');
      await triggerLog.append({
        chatId: chat.id,
        messageId: question.id,
        seq: question.seq,
        senderId: alice.id,
      });
      const answer = await stack.answerTo(alice, chat.id, question.id);
      expect(answer.text).toBe('Answered in-process.');
      const stream = await streamStore.read(answer.ai!.streamId, -1);
      expect(stream?.ended).toBe(true);
      expect(stream?.deltas.map((d) => d.delta).join('')).toBe(answer.text);
    } finally {
      await embedded.close();
    }
  });
});
