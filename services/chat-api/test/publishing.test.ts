import request from 'supertest';
import {
  createMemoryBus,
  IDENTITY_HEADER,
  type ChatEvent,
  type Message,
  type RunningService,
} from '@cohort/common';
import { generateTestKeys, startTestMongo, testLogger, waitFor, type TestMongo } from '@cohort/testkit';
import { loadChatApiConfig, startChatApi } from '../src';
import { ChatClient, newId, signFor, gatewaySigner, startHarness, type Harness } from './support';

const messageOf = (res: { body: unknown }) => (res.body as { message: Message }).message;

describe('with Redis', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sendRateLimit: '5/10s' });
  });
  afterAll(async () => {
    await h.close();
  });

  test('a Redis outage never fails a send: the message is stored and listed, and publishing resumes after', async () => {
    const alice = new ChatClient(h, newId());
    const chatId = await alice.createGroup();
    await h.redis.stop();
    const res = await alice.send(chatId, 'while redis is down');
    expect(res.status).toBe(201);
    const listed = (await alice.get(`/api/chats/${chatId}/messages?after=0`)).body as { messages: Message[] };
    expect(listed.messages.map((m) => m.text)).toEqual(['while redis is down']);
    await h.redis.start();
    await waitFor(async () => {
      const ready = await h.http().get('/readyz');
      if (ready.status !== 200) throw new Error(JSON.stringify(ready.body));
    }, 15_000);
    await h.recorder.probe();
    const after = messageOf(await alice.send(chatId, 'redis is back'));
    const event = await h.recorder.next((e) => e.type === 'chat:new' && e.message.id === after.id, 15_000);
    expect(event).toMatchObject({ chatId, message: { seq: 2 } });
  });

  test('the sixth message within the window is 429 with Retry-After', async () => {
    const bob = new ChatClient(h, newId());
    const chatId = await bob.createGroup();
    for (let i = 0; i < 5; i++) expect((await bob.send(chatId, `m${i}`)).status).toBe(201);
    const res = await bob.send(chatId, 'one too many');
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(10);
    // The limit is per user: someone else in another chat is unaffected.
    const carol = new ChatClient(h, newId());
    expect((await carol.send(await carol.createGroup(), 'hi')).status).toBe(201);
  });

  test('a non-member hitting the route is told 404, not 429', async () => {
    const dave = new ChatClient(h, newId());
    const chatId = await dave.createGroup();
    for (let i = 0; i < 5; i++) await dave.send(chatId, `m${i}`);
    expect((await dave.send(newId(), 'where')).status).toBe(404);
  });
});

describe('embedded mode (no REDIS_URL)', () => {
  let mongo: TestMongo;
  let api: RunningService;
  const bus = createMemoryBus();
  const received: ChatEvent[] = [];
  const waiters: (() => void)[] = [];
  let identity: (userId: string) => Promise<string>;
  /** Resolves when `done` holds for what the bus delivered so far (checked on each delivery). */
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (done() ? resolve() : waiters.push(check));
      check();
    });

  beforeAll(async () => {
    const keys = await generateTestKeys();
    mongo = await startTestMongo('chatapi_embedded');
    await bus.subscribe('chat-events', (e) => {
      received.push(e);
      waiters.splice(0).forEach((w) => w());
    });
    const config = loadChatApiConfig({
      PORT: '0',
      MONGO_URL: mongo.url,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      AUTH_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'silent',
    });
    api = await startChatApi({ config, shared: { bus }, logger: testLogger('chat-api') });
    const signer = await gatewaySigner(keys);
    identity = (userId) => signFor(signer, userId);
  });
  afterAll(async () => {
    await api.close();
    await bus.close();
    await mongo.close();
  });

  test('publishes on the injected in-process bus and allows a burst of 60 sends', async () => {
    const userId = newId();
    const url = `http://127.0.0.1:${api.port}`;
    const auth = { [IDENTITY_HEADER]: await identity(userId) };
    const created = await request(url).post('/api/chats').set(auth).send({ type: 'group', title: 'local' });
    const chatId = (created.body as { chat: { id: string } }).chat.id;
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        request(url)
          .post(`/api/chats/${chatId}/messages`)
          .set(auth)
          .send({ text: `b${i}`, clientMsgId: `b${i}` }),
      ),
    );
    expect(answers.every((r) => r.status === 201)).toBe(true);
    await until(() => received.filter((e) => e.type === 'chat:new' && e.chatId === chatId).length === 60);
    const seqs = received.flatMap((e) =>
      e.type === 'chat:new' && e.chatId === chatId ? [e.message.seq] : [],
    );
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
});
