import mongoose, { Types, type Connection } from 'mongoose';
import { Registry } from 'prom-client';
import request from 'supertest';
import { IDENTITY_HEADER, type Chat, type ChatPage, type Message } from '@cohort/common';
import { testLogger, waitFor } from '@cohort/testkit';
import { chatModel } from '../src/data/chat.schema';
import { membershipModel } from '../src/data/membership.schema';
import { messageModel } from '../src/data/message.schema';
import { openRepositories } from '../src/data/repositories';
import { createStoredMessagesRecorder } from '../src/use-cases/record-stored-messages';
import { ChatClient, startHarness, type Harness } from './support';
import { storeCallsDuring } from './support/query-log';

// What a stored message implies outside the messages collection (the chat's lastSeq and activity, the sender's
// read marker) is written behind the send, for all the sends of a window at once (record-stored-messages.ts).
const WINDOW_MS = 1_000;
let h: Harness;
let db: Connection;
let register: (name: string) => Promise<ChatClient>;
beforeAll(async () => {
  h = await startHarness({ withAuth: true, env: { BOOKKEEPING_WINDOW_MS: String(WINDOW_MS) } });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
  db = await mongoose.createConnection(h.mongo.url).asPromise();
});
afterAll(async () => {
  await db?.close();
  await h?.close();
});

const writesOf = (calls: string[]) => calls.filter((c) => /bulkWrite|update/i.test(c)).sort();
const BOOKKEEPING = ['chats', 'memberships'];
const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;
const chatOf = (res: { body: unknown }) => (res.body as { chat: Chat }).chat;

describe('bookkeeping behind the send', () => {
  test('a send is answered before its bookkeeping is written, and the next read here sees it', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('club', [bob.userId]);
    let sent: Message | undefined;
    const duringSend = await storeCallsDuring(BOOKKEEPING, async () => {
      const res = await alice.send(chatId, 'hello');
      expect(res.status).toBe(201);
      sent = messageOf(res);
    });
    expect(writesOf(duringSend)).toEqual([]);
    // Within the window: the read writes what is pending first, then reads (the recorder's own test below shows the
    // flush apart from any timing).
    const page = (await bob.get('/api/chats')).body as ChatPage;
    expect(page.chats.find((c) => c.id === chatId)).toMatchObject({
      lastSeq: 1,
      unread: 1,
      lastMessage: { id: sent?.id },
    });
    const chat = chatOf(await alice.get(`/api/chats/${chatId}`));
    expect(chat.members?.find((m) => m.userId === alice.userId)?.lastReadSeq).toBe(1);
  });

  test('the sends of one window are recorded in one write per collection, whatever their chats', async () => {
    const alice = await register('carol');
    const chatIds: string[] = [];
    for (let i = 0; i < 5; i += 1) chatIds.push(await alice.createGroup(`room ${i}`));
    const calls = await storeCallsDuring(BOOKKEEPING, async () => {
      const answers = await Promise.all(chatIds.map((id, i) => alice.send(id, `m${i}`)));
      expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
      // No read of ours asks for it: the window's timer writes it.
      await waitFor(async () => {
        const chats = await chatModel(db).find({ _id: { $in: chatIds.map((id) => new Types.ObjectId(id)) } });
        if (!chats.every((c) => c.lastSeq === 1)) throw new Error('not recorded yet');
      }, 10_000);
    });
    expect(writesOf(calls)).toEqual(['chats.bulkWrite', 'memberships.bulkWrite']);
    const rows = await membershipModel(db).find({ userId: alice.userId });
    expect(rows.map((r) => r.lastReadSeq)).toEqual([1, 1, 1, 1, 1]);
  });

  test("a chat's first send in a process records the chat's stored latest message again (bookkeeping a crash lost)", async () => {
    const [alice, bob] = [await register('dave'), await register('erin')];
    const chatId = await alice.createGroup('after a crash', [bob.userId]);
    // Stored by a process that died before its bookkeeping was written: the chat still says lastSeq 0.
    await messageModel(db).create({
      chatId: new Types.ObjectId(chatId),
      seq: 1,
      senderId: bob.userId,
      text: 'lost bookkeeping',
      clientMsgId: 'c-lost',
      createdAt: new Date(),
    });
    expect(chatOf(await alice.get(`/api/chats/${chatId}`)).lastSeq).toBe(0);
    const res = await alice.send(chatId, 'next');
    expect(messageOf(res).seq).toBe(2);
    const chat = chatOf(await alice.get(`/api/chats/${chatId}`));
    expect(chat.lastSeq).toBe(2);
    expect(Object.fromEntries((chat.members ?? []).map((m) => [m.userId, m.lastReadSeq]))).toEqual({
      [alice.userId]: 2,
      [bob.userId]: 1,
    });
  });
});

describe('another replica', () => {
  test("clamps a read marker to the stored messages, not to a lastSeq the sender's replica has not raised yet", async () => {
    const replica = await h.startReplica();
    const [alice, bob] = [await register('frank'), await register('gina')];
    const chatId = await alice.createGroup('two replicas', [bob.userId]);
    const sent = messageOf(await alice.send(chatId, 'hi'));
    // Bob's client reads it the moment it arrives, through the other replica: this one's bookkeeping is still
    // pending (a 1-s window), so the chat there says lastSeq 0.
    const readThroughReplica = async (seq: number) =>
      request(`http://127.0.0.1:${replica.port}`)
        .post(`/api/chats/${chatId}/read`)
        .set(IDENTITY_HEADER, await h.identity(bob.userId))
        .send({ seq });
    expect((await readThroughReplica(sent.seq)).status).toBe(204);
    const markerOf = async () =>
      (await membershipModel(db).findOne({ chatId: new Types.ObjectId(chatId), userId: bob.userId }))
        ?.lastReadSeq;
    expect(await markerOf()).toBe(sent.seq);
    // Still never past what is stored.
    expect((await readThroughReplica(sent.seq + 5)).status).toBe(204);
    expect(await markerOf()).toBe(sent.seq);
  });
});

/** A recorder on `conn`'s repositories, and a group with its owner as its one member. */
async function recorderWithChat(conn: Connection, windowMs: number, owner: string, registry?: Registry) {
  const repos = await openRepositories(conn);
  const recorder = createStoredMessagesRecorder({
    repos,
    logger: testLogger('recorder'),
    windowMs,
    ...(registry ? { registry } : {}),
  });
  const now = new Date();
  const chat = await repos.chats.createGroup({ title: 'recorded', ownerId: owner, now });
  await repos.memberships.add(chat.id, [{ userId: owner, role: 'owner' }], now, now);
  return { recorder, chatId: chat.id, now };
}

describe('the recorder', () => {
  test('writes what is pending at once when flushed, whatever its window', async () => {
    const { recorder, chatId, now } = await recorderWithChat(db, 60_000, 'u-flush');
    recorder.record(chatId, [{ seq: 3, senderId: 'u-flush', createdAt: now.toISOString() }]);
    const calls = await storeCallsDuring(BOOKKEEPING, () => recorder.flush());
    expect(writesOf(calls)).toEqual(['chats.bulkWrite', 'memberships.bulkWrite']);
    expect((await chatModel(db).findById(chatId))?.lastSeq).toBe(3);
    // Nothing pending: a flush writes nothing.
    expect(writesOf(await storeCallsDuring(BOOKKEEPING, () => recorder.flush()))).toEqual([]);
  });
});

describe('a bookkeeping write that fails', () => {
  test('is kept and written by a retry; it never rejects', async () => {
    const url = h.mongo.url;
    const conn = await mongoose.createConnection(url, { bufferCommands: false }).asPromise();
    try {
      const registry = new Registry();
      const { recorder, chatId, now } = await recorderWithChat(conn, 0, 'u-owner', registry);

      await conn.close();
      recorder.record(chatId, [{ seq: 7, senderId: 'u-owner', createdAt: now.toISOString() }]);
      await expect(recorder.flush()).resolves.toBeUndefined();
      const failures = await registry.getSingleMetricAsString('chat_bookkeeping_write_failures_total');
      expect(failures).toMatch(/chat_bookkeeping_write_failures_total [1-9]/);

      await conn.openUri(url);
      // The two collections' writes are two commands: the retry has written both once each shows it.
      const membership = () =>
        membershipModel(db).findOne({ chatId: new Types.ObjectId(chatId), userId: 'u-owner' });
      await waitFor(async () => {
        const [stored, row] = await Promise.all([chatModel(db).findById(chatId), membership()]);
        if (stored?.lastSeq !== 7 || row?.lastReadSeq !== 7) throw new Error('not retried yet');
      }, 10_000);
      const row = await membership();
      expect(row?.lastReadSeq).toBe(7);
      expect(row?.lastActivityAt?.getTime()).toBe(now.getTime());
    } finally {
      await conn.close();
    }
  });
});
