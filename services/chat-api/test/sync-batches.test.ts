import { SYNC_BATCH_MAX, type Message, type SyncBatchResult } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';
import { storeCallsDuring } from './support/query-log';

// POST /internal/sync-batches: realtime's chat:sync, many sockets' catch-up reads in one request.
let h: Harness;
let client: () => Promise<ChatClient>;
beforeAll(async () => {
  // With the real auth service: a group's members are looked up there.
  h = await startHarness({ withAuth: true });
  client = async () => new ChatClient(h, await h.auth!.register());
});
afterAll(async () => {
  await h.close();
});

const entry = async (userId: string, chatId: string, afterSeq = 0, limit = 100) => ({
  identity: await h.identity(userId),
  requestId: `req-${newId()}`,
  chatId,
  afterSeq,
  limit,
});
const postBatch = (syncs: unknown[]) => h.http().post('/internal/sync-batches').send({ syncs });
const resultsOf = (res: { body: unknown }) => (res.body as { results: SyncBatchResult[] }).results;
/** The reads among the store calls, sorted: the earlier sends' bookkeeping may be written meanwhile. */
const readsOf = (calls: string[]) => calls.filter((call) => /\.find(One)?$/.test(call)).sort();

async function single(user: ChatClient, chatId: string, after: number, limit: number) {
  const res = await user.get(`/api/chats/${chatId}/messages?after=${after}&limit=${limit}`);
  return { status: res.status, ...(res.body as object) };
}

async function groupWithMessages(owner: ChatClient, members: ChatClient[], count: number) {
  const chatId = await owner.createGroup(
    'sync',
    members.map((m) => m.userId),
  );
  for (let i = 1; i <= count; i += 1) expect((await owner.send(chatId, `message ${i}`)).status).toBe(201);
  return chatId;
}

describe('sync batches', () => {
  test('answers each entry, in order, exactly as GET …/messages?after=&limit= answers its user', async () => {
    const [alice, bob, mallory] = [await client(), await client(), await client()];
    const club = await groupWithMessages(alice, [bob], 5);
    const other = await groupWithMessages(bob, [], 3);
    const entries = [
      await entry(alice.userId, club, 0, 100),
      await entry(bob.userId, club, 2, 2),
      await entry(mallory.userId, club, 0, 100),
      await entry(bob.userId, other, 1, 100),
      await entry(alice.userId, other, 0, 100),
      await entry(bob.userId, club, 5, 100),
    ];
    const res = await postBatch(entries);
    expect(res.status).toBe(200);
    const results = resultsOf(res);
    expect(results.map((r) => r.status)).toEqual([200, 200, 404, 200, 404, 200]);
    const seqs = (r: SyncBatchResult | undefined) =>
      r && 'messages' in r ? r.messages.map((m: Message) => m.seq) : r;
    expect(seqs(results[0])).toEqual([1, 2, 3, 4, 5]);
    expect(seqs(results[1])).toEqual([3, 4]);
    expect(seqs(results[3])).toEqual([2, 3]);
    expect(seqs(results[5])).toEqual([]);
    // The single route agrees, entry by entry (a non-member learns nothing: the same 404 and error).
    const users = [alice, bob, mallory, bob, alice, bob];
    for (const [i, e] of entries.entries()) {
      expect(results[i]).toEqual(await single(users[i]!, e.chatId, e.afterSeq, e.limit));
    }
  });

  test("one entry's refusal fails only that entry", async () => {
    const alice = await client();
    const chat = await groupWithMessages(alice, [], 1);
    const res = await postBatch([
      { ...(await entry(alice.userId, chat)), identity: 'not-a-signed-assertion' },
      await entry(alice.userId, 'not-an-id'),
      await entry(alice.userId, chat, -1),
      await entry(alice.userId, chat, 0, 101),
      await entry(alice.userId, chat),
    ]);
    expect(res.status).toBe(200);
    const [unsigned, badChat, badSeq, badLimit, answered] = resultsOf(res);
    expect(unsigned).toEqual({ status: 401, error: { code: 'unauthorized', message: expect.any(String) } });
    for (const refused of [badChat, badSeq, badLimit]) {
      expect(refused).toMatchObject({ status: 400, error: { code: 'validation_error' } });
    }
    expect(answered).toMatchObject({ status: 200, messages: [{ seq: 1, text: 'message 1' }] });
  });

  test('pages of one chat that overlap, with a deleted message and an edit, each answer as their own GET', async () => {
    const [alice, bob] = [await client(), await client()];
    const club = await groupWithMessages(alice, [bob], 8);
    const other = await groupWithMessages(bob, [alice], 2);
    const { body } = await alice.get(`/api/chats/${club}/messages?after=0&limit=100`);
    const [, second, third] = (body as { messages: Message[] }).messages;
    expect((await alice.delete(`/api/chats/${club}/messages/${second!.id}`)).status).toBe(204);
    expect((await alice.patch(`/api/chats/${club}/messages/${third!.id}`, { text: 'edited' })).status).toBe(
      200,
    );
    const asked: Array<[ChatClient, string, number, number]> = [
      [alice, club, 0, 3],
      [bob, club, 1, 100],
      [alice, club, 2, 4],
      [bob, club, 7, 5],
      [alice, club, 8, 100],
      [bob, other, 0, 1],
      [alice, other, 1, 100],
      [bob, club, 0, 100],
    ];
    const res = await postBatch(
      await Promise.all(asked.map(([u, chat, after, limit]) => entry(u.userId, chat, after, limit))),
    );
    expect(res.status).toBe(200);
    const results = resultsOf(res);
    const seqs = results.map((r) => ('messages' in r ? r.messages.map((m: Message) => m.seq) : r));
    const club2 = results[1] && 'messages' in results[1] ? results[1].messages : [];
    expect(club2.slice(0, 2)).toMatchObject([
      { text: '', deletedAt: expect.any(String) },
      { text: 'edited' },
    ]);
    expect(seqs).toEqual([
      [1, 2, 3],
      [2, 3, 4, 5, 6, 7, 8],
      [3, 4, 5, 6],
      [8],
      [],
      [1],
      [2],
      [1, 2, 3, 4, 5, 6, 7, 8],
    ]);
    for (const [i, [user, chat, after, limit]] of asked.entries()) {
      expect(results[i]).toEqual(await single(user, chat, after, limit));
    }
  });

  test('a batch costs one membership query and one read of messages, however many entries and pages it carries', async () => {
    const owner = await client();
    const members = await Promise.all(Array.from({ length: 5 }, () => client()));
    const chats = [await groupWithMessages(owner, members, 3), await groupWithMessages(owner, members, 2)];
    // Six sockets catching up the first chat from seq 0, three the second, one the first from seq 2.
    const entries = [
      ...(await Promise.all([owner, ...members].map((m) => entry(m.userId, chats[0]!)))),
      ...(await Promise.all([owner, ...members.slice(0, 2)].map((m) => entry(m.userId, chats[1]!)))),
      await entry(members[4]!.userId, chats[0]!, 2),
    ];
    let res: Awaited<ReturnType<typeof postBatch>> | undefined;
    const reads = await storeCallsDuring(['memberships', 'messages'], async () => {
      res = await postBatch(entries);
    });
    const results = resultsOf(res!);
    expect(results.map((r) => ('messages' in r ? r.messages.length : r.status))).toEqual([
      3, 3, 3, 3, 3, 3, 2, 2, 2, 1,
    ]);
    // Three distinct pages (two of the first chat, one of the second) in one read.
    expect(readsOf(reads)).toEqual(['memberships.find', 'messages.find']);
    // One by one, the same syncs cost two queries each.
    const singly = await storeCallsDuring(['memberships', 'messages'], async () => {
      await single(owner, chats[0]!, 0, 100);
      await single(members[0]!, chats[1]!, 0, 100);
    });
    expect(readsOf(singly)).toEqual([
      'memberships.findOne',
      'memberships.findOne',
      'messages.find',
      'messages.find',
    ]);
  });

  test('a malformed envelope is 400', async () => {
    const one = await entry(newId(), newId());
    for (const body of [
      {},
      { syncs: [] },
      { syncs: Array.from({ length: SYNC_BATCH_MAX + 1 }, () => one) },
      { syncs: [{ ...one, extra: 1 }] },
      { syncs: [{ ...one, chatId: { $gt: '' } }] },
      { syncs: [{ ...one, afterSeq: '0' }] },
    ]) {
      const res = await h.http().post('/internal/sync-batches').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
  });
});
