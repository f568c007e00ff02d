import mongoose, { Types } from 'mongoose';
import type { ChatEvent, Message } from '@cohort/common';
import { messageModel } from '../src/data/message.schema';
import { ChatClient, newId, startHarness, type Harness } from './support';

// docs/security.md: every message carries `version` (1 when stored, +1 per edit and on the delete, in the same
// write), and so does every event, so a client keeping the highest version ends on the stored text.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;
const messagesOf = (res: { body: unknown }) => (res.body as { messages: Message[] }).messages;
const messageEvents = (chatId: string, type: ChatEvent['type']) =>
  h.recorder
    .ofChat(chatId)
    .filter((e): e is Extract<ChatEvent, { message: Message }> => e.type === type && 'message' in e)
    .map((e) => e.message);

describe('message versions', () => {
  test('a new message is version 1, in the answer, the list and chat:new', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'hello'));
    expect(sent.version).toBe(1);
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))[0]?.version).toBe(1);
    await h.recorder.next((e) => e.type === 'chat:new' && e.chatId === chatId);
    expect(messageEvents(chatId, 'chat:new').map((m) => m.version)).toEqual([1]);
  });

  test('two concurrent edits get versions 2 and 3; the published events carry them; the highest is the stored text', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'v1'));
    const edits = await Promise.all(
      ['first', 'second'].map((text) => alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text })),
    );
    expect(edits.map((r) => r.status)).toEqual([200, 200]);
    const answered = edits.map(messageOf);
    expect(answered.map((m) => m.version).sort()).toEqual([2, 3]);

    await h.recorder.next((e) => e.type === 'chat:updated' && e.chatId === chatId && e.message.version === 3);
    await h.recorder.next((e) => e.type === 'chat:updated' && e.chatId === chatId && e.message.version === 2);
    const published = messageEvents(chatId, 'chat:updated');
    expect(published.map((m) => m.version).sort()).toEqual([2, 3]);
    // Each event is the text that version stored; the highest version is what the store holds now.
    const highest = published.find((m) => m.version === 3);
    const [stored] = messagesOf(await alice.get(`/api/chats/${chatId}/messages`));
    expect(stored).toMatchObject({ version: 3, text: highest?.text });
    expect(answered.find((m) => m.version === 3)?.text).toBe(highest?.text);
  });

  test('the delete raises the version once more; deleting again changes nothing', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'v1'));
    await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'v2' });
    expect((await alice.delete(`/api/chats/${chatId}/messages/${sent.id}`)).status).toBe(204);
    expect((await alice.delete(`/api/chats/${chatId}/messages/${sent.id}`)).status).toBe(204);
    const deleted = await h.recorder.next((e) => e.type === 'chat:deleted' && e.chatId === chatId);
    expect(deleted).toMatchObject({ message: { version: 3, text: '' } });
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))[0]).toMatchObject({
      version: 3,
      deletedAt: expect.any(String),
    });
  });

  test('an edit whose text looks like a field path is stored as written', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'v1'));
    const res = await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: '$seq' });
    expect(messageOf(res)).toMatchObject({ text: '$seq', version: 2 });
  });

  test('a message stored before versions existed reads as 1 and its first edit is 2', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    const sent = messageOf(await alice.send(chatId, 'old'));
    const db = await mongoose.createConnection(h.mongo.url).asPromise();
    try {
      await messageModel(db).collection.updateOne(
        { _id: new Types.ObjectId(sent.id) },
        { $unset: { version: '' } },
      );
    } finally {
      await db.close();
    }
    expect(messagesOf(await alice.get(`/api/chats/${chatId}/messages`))[0]?.version).toBe(1);
    const edited = await alice.patch(`/api/chats/${chatId}/messages/${sent.id}`, { text: 'new' });
    expect(messageOf(edited).version).toBe(2);
  });
});
