import type { Message, MessageBatchEntry, MessageBatchResult } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';

// Issue 19, "retries are free": a send whose clientMsgId is already stored is answered with the stored
// message (200) before the send limit is charged, on the REST route and on realtime's batch route. Without
// this a client retrying after a lost answer could see its delivered message refused with 429.

const LIMIT = 3;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ sendRateLimit: `${LIMIT}/60s` });
});
afterAll(async () => {
  await h.close();
});

const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;

async function batchEntry(userId: string, chatId: string, text: string, clientMsgId: string) {
  const entry: MessageBatchEntry = {
    identity: await h.identity(userId),
    requestId: `req-${newId()}`,
    chatId,
    text,
    clientMsgId,
  };
  return entry;
}

async function postBatch(entries: MessageBatchEntry[]): Promise<MessageBatchResult[]> {
  const res = await h.http().post('/internal/message-batches').send({ sends: entries });
  expect(res.status).toBe(200);
  return (res.body as { results: MessageBatchResult[] }).results;
}

describe('retries of a stored clientMsgId', () => {
  test('REST: a retry with the budget spent gets the stored message, 200, not 429', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const first = await alice.send(chatId, 'm0', 'retry-me');
    expect(first.status).toBe(201);
    for (let i = 1; i < LIMIT; i++) expect((await alice.send(chatId, `m${i}`)).status).toBe(201);
    expect((await alice.send(chatId, 'fresh one too many')).status).toBe(429);

    const retry = await alice.send(chatId, 'm0', 'retry-me');
    expect(retry.status).toBe(200);
    expect(messageOf(retry)).toEqual(messageOf(first));
    // A clientMsgId nobody stored is still refused.
    expect((await alice.send(chatId, 'new', 'never-stored')).status).toBe(429);
  });

  test('REST: retries cost no budget, so the full budget of fresh sends stays available', async () => {
    const bob = new ChatClient(h, newId());
    const chatId = await bob.createGroup();
    const first = await bob.send(chatId, 'once', 'same-id');
    expect(first.status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const retry = await bob.send(chatId, 'once', 'same-id');
      expect(retry.status).toBe(200);
      expect(messageOf(retry).id).toBe(messageOf(first).id);
    }
    // The first send took one point; the retries none: LIMIT - 1 fresh sends still go through.
    for (let i = 1; i < LIMIT; i++) expect((await bob.send(chatId, `fresh ${i}`)).status).toBe(201);
    expect((await bob.send(chatId, 'over')).status).toBe(429);
  });

  test('batch route (realtime chat:send): a retried entry is 200 with the stored message, past the limit', async () => {
    const carol = new ChatClient(h, newId());
    const chatId = await carol.createGroup();
    const sent = await postBatch(
      await Promise.all(
        Array.from({ length: LIMIT }, (_, i) => batchEntry(carol.userId, chatId, `b${i}`, `batch-${i}`)),
      ),
    );
    expect(sent.map((r) => r.status)).toEqual(Array.from({ length: LIMIT }, () => 201));
    const retried = await postBatch([
      await batchEntry(carol.userId, chatId, 'b0', 'batch-0'),
      await batchEntry(carol.userId, chatId, 'fresh', 'batch-new'),
    ]);
    expect(retried.map((r) => r.status)).toEqual([200, 429]);
    expect(retried[0]).toEqual({ status: 200, message: (sent[0] as { message: Message }).message });
  });
});
