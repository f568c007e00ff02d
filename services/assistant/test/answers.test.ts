import { ASSISTANT_USER_ID, triggerPartition, triggerStreamKey, type Message } from '@cohort/common';
import { Redis } from 'ioredis';
import { waitFor } from '@cohort/testkit';
import { joinDeltas, startStack, type Stack, type TestUser } from './support/stack';

const ANSWER = 'Paris is the capital of France, and it sits on the Seine.';

describe('answering (one replica, real chat-api, the OpenAI-compatible fake)', () => {
  let stack: Stack;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    stack = await startStack();
    stack.fake.setScript({ text: ANSWER });
    await stack.startAssistant('a1');
    [alice, bob] = await Promise.all([stack.register('Alice'), stack.register('Bob')]);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('answers every message in an assistant chat, streams it, stores it once and names the chat', async () => {
    const chat = await stack.createAssistantChat(alice);
    const question = await stack.send(alice, chat.id, 'What is the capital of France?');

    const answer = await stack.answerTo(alice, chat.id, question.id);
    expect(answer.text).toBe(ANSWER);
    expect(answer.ai).toMatchObject({ status: 'done', model: 'fake-model' });
    expect(answer.ai?.usage?.completionTokens).toBeGreaterThan(0);
    expect(answer.seq).toBeGreaterThan(question.seq);

    const streamed = joinDeltas(stack.deltas, answer.ai!.streamId);
    expect(streamed).toEqual({ text: ANSWER, duplicates: 0, gaps: 0 });
    // Coalesced: fewer events than the provider's chunks.
    const events = stack.deltas.filter((d) => d.streamId === answer.ai!.streamId);
    expect(events.every((d) => d.chatId === chat.id && d.replyTo === question.id)).toBe(true);

    await waitFor(async () => {
      const named = (await stack.call(alice, 'GET', `/api/chats/${chat.id}`)) as { chat: { title: string } };
      expect(named.chat.title).toBe('What is the capital of France?');
    });
    const answers = (await stack.messages(alice, chat.id)).filter((m) => m.senderId === ASSISTANT_USER_ID);
    expect(answers).toHaveLength(1);
  });

  it('in a group answers only messages that call it, by @cohortgpt or by mention', async () => {
    const group = await stack.createGroup(alice, 'Trip planning', [bob], true);
    const plain = await stack.send(alice, group.id, 'Bob, what time do we leave?');
    const byHandle = await stack.send(bob, group.id, '@cohortgpt what is the capital of France?');
    const byMention = await stack.send(alice, group.id, 'and the river?', [ASSISTANT_USER_ID]);

    await stack.answerTo(bob, group.id, byHandle.id);
    await stack.answerTo(bob, group.id, byMention.id);
    const all = await stack.messages(bob, group.id);
    expect(all.filter((m) => m.replyTo === plain.id)).toHaveLength(0);
    expect(all.filter((m) => m.senderId === ASSISTANT_USER_ID)).toHaveLength(2);
  });

  it('answers queued questions of one chat one at a time, in the order they were asked', async () => {
    stack.fake.setScript({ text: ANSWER, chunkDelayMs: 15 });
    try {
      const chat = await stack.createAssistantChat(bob);
      const questions: Message[] = [];
      for (const text of ['first?', 'second?', 'third?'])
        questions.push(await stack.send(bob, chat.id, text));
      const answers = [];
      for (const q of questions) answers.push(await stack.answerTo(bob, chat.id, q.id));
      expect(answers.map((a) => a.seq)).toEqual([...answers.map((a) => a.seq)].sort((x, y) => x - y));
      expect(answers[0]!.seq).toBeGreaterThan(questions[2]!.seq);
      const last = stack.fake.completions().at(-1)!;
      // The third prompt saw the first two answers (generation is serial per chat).
      expect(last.messages!.filter((m) => m.role === 'assistant')).toHaveLength(2);
    } finally {
      stack.fake.setScript({ text: ANSWER });
    }
  });

  it('answers a trigger delivered twice exactly once', async () => {
    const chat = await stack.createAssistantChat(alice);
    const question = await stack.send(alice, chat.id, 'Just once, please');
    const redis = new Redis(stack.redis.url);
    try {
      const trigger = { chatId: chat.id, messageId: question.id, seq: question.seq, senderId: alice.id };
      await redis.xadd(triggerStreamKey(triggerPartition(chat.id)), '*', 't', JSON.stringify(trigger));
      await redis.xadd(triggerStreamKey(triggerPartition(chat.id)), '*', 't', JSON.stringify(trigger));
      await stack.answerTo(alice, chat.id, question.id);
      // A later question's answer proves the duplicates were handled before it (same chat, in order).
      const later = await stack.send(alice, chat.id, 'and now?');
      await stack.answerTo(alice, chat.id, later.id);
      const answers = (await stack.messages(alice, chat.id)).filter((m) => m.replyTo === question.id);
      expect(answers).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });

  it('builds the prompt from this chat only: recent messages, edits seen, deleted text and other chats absent', async () => {
    const secretChat = await stack.createGroup(bob, 'Private', [], false);
    await stack.send(bob, secretChat.id, 'The vault code is PELICAN-42');
    const group = await stack.createGroup(alice, 'Book club', [bob], true);
    await stack.send(alice, group.id, 'We are reading Middlemarch this month');
    const edited = await stack.send(bob, group.id, 'Meeting on Tuesday');
    await stack.call(bob, 'PATCH', `/api/chats/${group.id}/messages/${edited.id}`, {
      text: 'Meeting on Thursday',
    });
    const deleted = await stack.send(alice, group.id, 'my phone number is 555-0199');
    await stack.call(alice, 'DELETE', `/api/chats/${group.id}/messages/${deleted.id}`);
    const question = await stack.send(bob, group.id, '@cohortgpt when do we meet and what are we reading?');

    await stack.answerTo(bob, group.id, question.id);
    const body = stack.fake.completions().at(-1)!;
    const prompt = JSON.stringify(body.messages);
    expect(body.messages![0]!.role).toBe('system');
    expect(body.messages![0]!.content).toContain('cohortGPT');
    expect(prompt).toContain('Alice Test: We are reading Middlemarch this month');
    expect(prompt).toContain('Bob Test: Meeting on Thursday');
    expect(prompt).toContain('@cohortgpt when do we meet');
    expect(prompt).not.toContain('Meeting on Tuesday');
    expect(prompt).not.toContain('555-0199');
    expect(prompt).not.toContain('PELICAN');
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('recalls relevant older messages of the asker’s other assistant chats, never someone else’s', async () => {
    const earlier = await stack.createAssistantChat(alice);
    await stack.send(alice, earlier.id, 'My cat is called Marmalade and she loves tuna');
    const bobs = await stack.createAssistantChat(bob);
    await stack.send(bob, bobs.id, 'My cat is called Biscuit');
    await stack.answerTo(bob, bobs.id, (await stack.messages(bob, bobs.id))[0]!.id);
    await stack.answerTo(alice, earlier.id, (await stack.messages(alice, earlier.id))[0]!.id);

    const chat = await stack.createAssistantChat(alice);
    const question = await stack.send(alice, chat.id, 'What is my cat called?');
    await stack.answerTo(alice, chat.id, question.id);
    const prompt = JSON.stringify(stack.fake.completions().at(-1)!.messages);
    expect(prompt).toContain('Marmalade');
    expect(prompt).not.toContain('Biscuit');
  });
});
