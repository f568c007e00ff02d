import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createIdentitySigner,
  IDENTITY_HEADER,
  importSigningKey,
  type IdentitySigner,
  type Message,
  type MessageBatchResult,
} from '@cohort/common';
import {
  freePort,
  generateTestKeys,
  spawnNodeProcess,
  spawnService,
  startRedisServer,
  waitFor,
  type RedisServer,
  type ServiceProcess,
} from '@cohort/testkit';
import { report } from './support/report';
import { bySize } from './support/size';

/**
 * Issue 19, store outages: the store (the embedded MongoDB-compatible server with its journal) stopped under a
 * running chat-api. Every call answers 503 `store_unavailable` with Retry-After (REST) or the same code per
 * entry (realtime's batch route, which becomes the socket ack), never 500 `internal_error` and never a hang;
 * when the store is back on the same journal, retries with the same clientMsgId succeed and nothing is lost.
 */
const DOWN_MS = bySize(2000, 10_000);
/** chat-api's server selection gives up after 5 s (libs/common/src/mongo.ts); a margin for a loaded machine. */
const ANSWER_WITHIN_MS = 8000;

let dataDir: string;
let storePort: number;
let store: ServiceProcess | undefined;
let redis: RedisServer;
let chatApi: ServiceProcess;
let signer: IdentitySigner;
const userId = '665f1c2b9a1e4b3c2d1f0a9e';

const startStore = async () =>
  spawnNodeProcess({
    entry: join(__dirname, '../../libs/testkit/src/cluster/embedded-mongo.ts'),
    label: 'mongo',
    env: { PORT: String(storePort), DATA_DIR: dataDir, LOG_LEVEL: 'info' },
  });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'store-outage-'));
  storePort = await freePort();
  store = await startStore();
  redis = await startRedisServer();
  const keys = await generateTestKeys();
  signer = createIdentitySigner(
    await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA'),
    'gateway',
  );
  chatApi = await spawnService({
    service: 'chat-api',
    env: {
      MONGO_URL: `mongodb://127.0.0.1:${storePort}/cohort`,
      REDIS_URL: redis.url,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      AUTH_URL: 'http://127.0.0.1:9',
      SEND_RATE_LIMIT: '100000/10s',
      CHAT_CREATE_RATE_LIMIT: '100000/10s',
      LOG_LEVEL: 'info',
    },
  });
}, 60_000);

afterAll(async () => {
  await chatApi?.stop();
  await store?.stop();
  await redis?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function identity(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signer.sign({
    userId,
    sessionId: 'sess-store',
    tokenId: 'tok-store',
    issuedAt: now,
    expiresAt: now + 900,
  });
}

interface Answer {
  status: number;
  body: { message?: Message; messages?: Message[]; results?: MessageBatchResult[]; error?: { code: string } };
  retryAfter: string | null;
  ms: number;
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${chatApi.url}${path}`, {
    method,
    headers: { [IDENTITY_HEADER]: await identity(), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = (await res.json()) as Answer['body'];
  return {
    status: res.status,
    body: parsed,
    retryAfter: res.headers.get('retry-after'),
    ms: performance.now() - started,
  };
}

const send = (chatId: string, text: string, clientMsgId: string) =>
  call('POST', `/api/chats/${chatId}/messages`, { text, clientMsgId });

test('a stopped store answers 503 store_unavailable with Retry-After, then retries succeed on the same data', async () => {
  const created = await call('POST', '/api/chats', { type: 'group', title: 'outage' });
  expect(created.status).toBe(201);
  const chatId = (created.body as { chat?: { id: string } }).chat!.id;
  expect((await send(chatId, 'before', 'before')).status).toBe(201);

  await store!.stop();
  store = undefined;
  const downSince = performance.now();
  const during: Answer[] = [];
  const batchAcks: MessageBatchResult[] = [];
  while (performance.now() - downSince < DOWN_MS) {
    during.push(await send(chatId, 'during', 'during'));
    during.push(await call('GET', `/api/chats/${chatId}/messages?after=0`));
    const batch = await call('POST', '/internal/message-batches', {
      sends: [
        { identity: await identity(), requestId: 'req-outage', chatId, text: 'socket', clientMsgId: 'sock' },
      ],
    });
    expect(batch.status).toBe(200);
    batchAcks.push(...batch.body.results!);
  }
  for (const answer of during) {
    expect(answer.status).toBe(503);
    expect(answer.body.error?.code).toBe('store_unavailable');
    expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
  }
  for (const ack of batchAcks)
    expect(ack).toEqual({ status: 503, error: expect.objectContaining({ code: 'store_unavailable' }) });

  store = await startStore();
  const backAt = performance.now();
  // The client's retries (same clientMsgId) converge once the driver reconnects.
  let retried: Answer | undefined;
  await waitFor(async () => {
    retried = await send(chatId, 'during', 'during');
    if (retried.status !== 201) throw new Error(`still ${retried.status}`);
  }, 20_000);
  const recoveredMs = performance.now() - backAt;
  expect((await send(chatId, 'during', 'during')).status).toBe(200);
  const listed = await call('GET', `/api/chats/${chatId}/messages?after=0`);
  expect(listed.status).toBe(200);
  expect(listed.body.messages!.map((m) => [m.seq, m.clientMsgId])).toEqual([
    [1, 'before'],
    [2, 'during'],
  ]);
  const maxMs = Math.max(...during.map((a) => a.ms));
  report('store-outage', {
    downMs: DOWN_MS,
    answersDuringOutage: during.length + batchAcks.length,
    all503StoreUnavailable: true,
    maxAnswerMsDuringOutage: Math.round(maxMs),
    recoveredAfterStoreBackMs: Math.round(recoveredMs),
  });
}, 90_000);
