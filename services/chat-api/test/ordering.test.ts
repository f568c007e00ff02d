import request from 'supertest';
import { IDENTITY_HEADER, type Chat, type Message } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;

async function allMessages(client: ChatClient, chatId: string): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (;;) {
    const res = await client.get(`/api/chats/${chatId}/messages?after=${after}&limit=100`);
    const page = (res.body as { messages: Message[] }).messages;
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1]!.seq;
  }
}

describe('seq assignment', () => {
  test('50 concurrent sends to one chat get seq 1..50: no gap, no duplicate', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup('busy');
    const answers = await Promise.all(range(50).map((i) => alice.send(chatId, `msg ${i}`, `conc-${i}`)));
    expect(answers.map((r) => r.status)).toEqual(range(50).map(() => 201));
    expect(answers.map((r) => messageOf(r).seq).sort((a, b) => a - b)).toEqual(range(50));
    const stored = await allMessages(alice, chatId);
    expect(stored.map((m) => m.seq)).toEqual(range(50));
    expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(50);
    const chat = (await alice.get(`/api/chats/${chatId}`)).body as { chat: Chat };
    expect(chat.chat.lastSeq).toBe(50);
  });

  test("one replica publishes a chat's messages in seq order", async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup('ordered');
    await Promise.all(range(30).map((i) => alice.send(chatId, `m${i}`, `ord-${i}`)));
    await h.recorder.next((e) => e.type === 'chat:new' && e.chatId === chatId && e.message.seq === 30);
    const published = h.recorder
      .ofChat(chatId)
      .flatMap((e) => (e.type === 'chat:new' ? [e.message.seq] : []));
    expect(published).toEqual(range(30));
  });

  test('two replicas writing one chat at once still give 1..N with no gap or duplicate', async () => {
    const replica = await h.startReplica();
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup('two replicas');
    const identity = await h.identity(alice.userId);
    const urls = [h.url, `http://127.0.0.1:${replica.port}`];
    const answers = await Promise.all(
      range(60).map((i) =>
        request(urls[i % 2]!)
          .post(`/api/chats/${chatId}/messages`)
          .set(IDENTITY_HEADER, identity)
          .send({ text: `r${i}`, clientMsgId: `rep-${i}` }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(range(60).map(() => 201));
    const stored = await allMessages(alice, chatId);
    expect(stored.map((m) => m.seq)).toEqual(range(60));
    // Every stored message was published exactly once, whichever replica stored it.
    await h.recorder.next(
      (e) => e.type === 'chat:new' && e.chatId === chatId && h.recorder.ofChat(chatId).length >= 60,
    );
    const published = h.recorder
      .ofChat(chatId)
      .flatMap((e) => (e.type === 'chat:new' ? [e.message.seq] : []));
    expect([...published].sort((a, b) => a - b)).toEqual(range(60));
  });

  test('the same clientMsgId retried on two replicas at once is stored once', async () => {
    const replica = await h.startReplica();
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup('retry across replicas');
    const identity = await h.identity(alice.userId);
    const urls = [h.url, `http://127.0.0.1:${replica.port}`];
    const answers = await Promise.all(
      range(10).map((i) =>
        request(urls[i % 2]!)
          .post(`/api/chats/${chatId}/messages`)
          .set(IDENTITY_HEADER, identity)
          .send({ text: 'dup', clientMsgId: 'twice' }),
      ),
    );
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(answers.map((r) => messageOf(r).id)).size).toBe(1);
    const next = messageOf(await alice.send(chatId, 'next'));
    expect(next.seq).toBe(2);
  });
});
