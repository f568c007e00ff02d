import { Redis } from 'ioredis';
import { ASSISTANT_USER_ID, TRIGGER_PARTITIONS, type Message } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import type { RunningAssistant } from '../src/main';
import { joinDeltas, startStack, type Stack, type TestUser } from './support/stack';

const LONG = Array.from({ length: 80 }, (_, i) => `token${i}`).join(' ');

/** Which replica holds each partition's lease. */
async function leaseHolders(redisUrl: string): Promise<(string | null)[]> {
  const redis = new Redis(redisUrl);
  try {
    return await Promise.all(
      Array.from({ length: TRIGGER_PARTITIONS }, (_, p) => redis.get(`cohort:ai:lease:${p}`)),
    );
  } finally {
    redis.disconnect();
  }
}

describe('two assistant replicas on one Redis', () => {
  let stack: Stack;
  let alice: TestUser;

  beforeAll(async () => {
    stack = await startStack();
    alice = await stack.register('Alice');
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('share the trigger partitions and answer every question exactly once', async () => {
    const replicas: RunningAssistant[] = [];
    try {
      replicas.push(await stack.startAssistant('r1'), await stack.startAssistant('r2'));
      await waitFor(async () => {
        const holders = await leaseHolders(stack.redis.url);
        expect(holders.filter((h) => h === 'r1')).toHaveLength(TRIGGER_PARTITIONS / 2);
        expect(holders.filter((h) => h === 'r2')).toHaveLength(TRIGGER_PARTITIONS / 2);
      }, 15_000);

      stack.fake.setScript({ text: 'One answer, once.', chunkDelayMs: 5 });
      const asked: { chatId: string; question: Message }[] = [];
      for (let i = 0; i < 8; i++) {
        const chat = await stack.createAssistantChat(alice);
        asked.push({ chatId: chat.id, question: await stack.send(alice, chat.id, `question ${i}`) });
      }
      for (const { chatId, question } of asked) {
        const answer = await stack.answerTo(alice, chatId, question.id);
        expect(answer.text).toBe('One answer, once.');
        expect(joinDeltas(stack.deltas, answer.ai!.streamId)).toEqual({
          text: answer.text,
          duplicates: 0,
          gaps: 0,
        });
      }
      for (const { chatId } of asked) {
        const answers = (await stack.messages(alice, chatId)).filter((m) => m.senderId === ASSISTANT_USER_ID);
        expect(answers).toHaveLength(1);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('finishes, exactly once, an answer whose replica was killed mid-stream', async () => {
    stack.fake.setScript({ text: LONG, chunkDelayMs: 100 });
    const doomed = await stack.spawnAssistant('doomed');
    let survivor: RunningAssistant | undefined;
    try {
      const chat = await stack.createAssistantChat(alice);
      const question = await stack.send(alice, chat.id, 'Tell me a long story');
      await waitFor(() => {
        const seen = stack.deltas.filter((d) => d.replyTo === question.id);
        if (seen.length < 3) throw new Error(`only ${seen.length} deltas`);
      }, 15_000);
      await doomed.kill();
      const seenBeforeKill = joinDeltas(
        stack.deltas,
        stack.deltas.find((d) => d.replyTo === question.id)!.streamId,
      ).text;

      survivor = await stack.startAssistant('survivor');
      const answer = await stack.answerTo(alice, chat.id, question.id, 20_000);
      expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_interrupted' } });
      expect(answer.text.startsWith(seenBeforeKill)).toBe(true);
      await waitFor(() => {
        expect(joinDeltas(stack.deltas, answer.ai!.streamId)).toEqual({
          text: answer.text,
          duplicates: 0,
          gaps: 0,
        });
      });
      // Later questions of the chat are answered normally, and the interrupted one stays answered once.
      stack.fake.setScript({ text: 'Back to normal.' });
      const next = await stack.send(alice, chat.id, 'Still there?');
      expect((await stack.answerTo(alice, chat.id, next.id)).text).toBe('Back to normal.');
      const answers = (await stack.messages(alice, chat.id)).filter((m) => m.replyTo === question.id);
      expect(answers).toHaveLength(1);
    } finally {
      await doomed.kill();
      await survivor?.close();
    }
  }, 60_000);
  it('a replica shutting down mid-answer leaves exactly one answer, equal to its stream', async () => {
    stack.fake.setScript({ text: LONG, chunkDelayMs: 100 });
    const closing = await stack.startAssistant('closing');
    let next: RunningAssistant | undefined;
    try {
      const chat = await stack.createAssistantChat(alice);
      const question = await stack.send(alice, chat.id, 'Another long story');
      await waitFor(() => {
        if (stack.deltas.filter((d) => d.replyTo === question.id).length < 3) throw new Error('not yet');
      }, 15_000);
      await closing.close();
      next = await stack.startAssistant('next');
      const answer = await stack.answerTo(alice, chat.id, question.id, 20_000);
      expect(answer.ai).toMatchObject({ status: 'failed', error: { code: 'ai_interrupted' } });
      await waitFor(() => {
        expect(joinDeltas(stack.deltas, answer.ai!.streamId)).toEqual({
          text: answer.text,
          duplicates: 0,
          gaps: 0,
        });
      });
      stack.fake.setScript({ text: 'Fine again.' });
      const later = await stack.send(alice, chat.id, 'ok?');
      expect((await stack.answerTo(alice, chat.id, later.id)).text).toBe('Fine again.');
      expect((await stack.messages(alice, chat.id)).filter((m) => m.replyTo === question.id)).toHaveLength(1);
    } finally {
      await next?.close();
    }
  }, 60_000);
});
