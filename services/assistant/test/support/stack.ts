import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  ASSISTANT_USER_ID,
  createIdentitySigner,
  createRedisBus,
  IDENTITY_HEADER,
  importSigningKey,
  type AccessClaims,
  type AiEvent,
  type Chat,
  type EventBus,
  type IdentitySigner,
  type Message,
} from '@cohort/common';
import {
  claimsOf,
  registerUser,
  generateTestKeys,
  REPO_ROOT,
  spawnNodeProcess,
  spawnService,
  startRedisServer,
  startOpenAiFake,
  startTestMongo,
  testLogger,
  waitFor,
  withDatabase,
  type RedisServer,
  type OpenAiFake,
  type ServiceProcess,
  type TestKeys,
  type TestMongo,
} from '@cohort/testkit';
import { loadAssistantConfig } from '../../src/config';
import { startAssistant, type RunningAssistant } from '../../src/main';

export interface TestUser {
  id: string;
  name: string;
  claims: AccessClaims;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/**
 * The assistant's real neighbours: redis-server, the test Mongo, auth and chat-api as processes (chat-api appends
 * triggers to the Redis trigger log), and the OpenAI-compatible fake standing in for the provider. Calls the tests
 * make carry an identity forwarded the way the gateway does.
 */
export interface Stack {
  keys: TestKeys;
  redis: RedisServer;
  chatApi: ServiceProcess;
  auth: ServiceProcess;
  fake: OpenAiFake;
  /** A database URL of the test Mongo for the assistant's own collection. */
  assistantMongoUrl: string;
  /** A bus on the stack's Redis (what realtime publishes and receives). */
  bus: EventBus;
  assistantEnv(replicaId: string, extra?: Record<string, string>): Record<string, string>;
  /** An assistant replica in this process. */
  startAssistant(replicaId: string, extra?: Record<string, string>): Promise<RunningAssistant>;
  /** An assistant replica as its own process (killed with SIGKILL in fault tests). */
  spawnAssistant(replicaId: string, extra?: Record<string, string>): Promise<ServiceProcess>;
  register(name: string): Promise<TestUser>;
  call(user: TestUser, method: string, path: string, body?: unknown): Promise<unknown>;
  /** A request to `baseUrl` as `user` (gateway forwarding), whatever the status. */
  request(
    baseUrl: string,
    user: TestUser | null,
    method: string,
    path: string,
    body?: string,
  ): Promise<HttpAnswer>;
  createAssistantChat(user: TestUser): Promise<Chat>;
  createGroup(owner: TestUser, title: string, members: TestUser[], withAssistant: boolean): Promise<Chat>;
  send(user: TestUser, chatId: string, text: string, mentions?: string[]): Promise<Message>;
  messages(user: TestUser, chatId: string): Promise<Message[]>;
  /** Waits until the trigger has an answer (as the user sees the chat) and returns it. */
  answerTo(user: TestUser, chatId: string, messageId: string, timeoutMs?: number): Promise<Message>;
  /** Every `ai:delta` on the bus, in arrival order. */
  deltas: AiEvent[];
  /** When (performance.now()) the first `ai:delta` answering each message arrived, by message id. */
  firstDeltaAt: Map<string, number>;
  /** Waits for the first `ai:delta` answering message `messageId`. */
  firstDelta(messageId: string): Promise<AiEvent>;
  close(): Promise<void>;
}

let counter = 0;

export async function startStack(): Promise<Stack> {
  const keys = await generateTestKeys();
  const redis = await startRedisServer();
  const mongo: TestMongo = await startTestMongo('assistant');
  const fake = await startOpenAiFake();
  const started: ServiceProcess[] = [];
  const replicas: RunningAssistant[] = [];
  const processes: ServiceProcess[] = [];
  const connections: Redis[] = [];
  try {
    const internalJwks = JSON.stringify(keys.internalJwks);
    const dbName = new URL(mongo.url).pathname.slice(1);
    const auth = await spawnService({
      service: 'auth',
      env: {
        MONGO_URL: withDatabase(mongo.url, `${dbName}_auth`),
        REDIS_URL: redis.url,
        JWT_PRIVATE_KEY: keys.access.privateKeyPem,
        INTERNAL_JWKS: internalJwks,
        BCRYPT_COST: '4',
        PASSWORD_HASH_THREADS: '1',
        LOGIN_IP_LIMIT: '10000',
      },
    });
    started.push(auth);
    const chatApi = await spawnService({
      service: 'chat-api',
      env: {
        MONGO_URL: withDatabase(mongo.url, `${dbName}_chat`),
        REDIS_URL: redis.url,
        INTERNAL_JWKS: internalJwks,
        AUTH_URL: auth.url,
        SEND_RATE_LIMIT: '10000/10s',
      },
    });
    started.push(chatApi);

    const publisher = new Redis(redis.url);
    const subscriber = new Redis(redis.url);
    connections.push(publisher, subscriber);
    const bus = createRedisBus({ publisher, subscriber, logger: testLogger('bus') });
    const deltas: AiEvent[] = [];
    const firstDeltaAt = new Map<string, number>();
    await bus.subscribe('ai-events', (event) => {
      deltas.push(event);
      if (!firstDeltaAt.has(event.replyTo)) firstDeltaAt.set(event.replyTo, performance.now());
    });

    const signer: IdentitySigner = createIdentitySigner(
      await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA'),
      'gateway',
    );
    const request = async (
      baseUrl: string,
      user: TestUser | null,
      method: string,
      path: string,
      body?: string,
    ): Promise<HttpAnswer> => {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(user ? { [IDENTITY_HEADER]: await signer.sign(user.claims) } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    const call = async (user: TestUser, method: string, path: string, body?: unknown) => {
      const answer = await request(
        chatApi.url,
        user,
        method,
        path,
        body === undefined ? undefined : JSON.stringify(body),
      );
      if (answer.status >= 400)
        throw new Error(`${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    };
    const messages = async (user: TestUser, chatId: string) =>
      ((await call(user, 'GET', `/api/chats/${chatId}/messages?limit=100`)) as { messages: Message[] })
        .messages;

    const assistantEnv = (replicaId: string, extra: Record<string, string> = {}) => ({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      PORT: '0',
      REPLICA_ID: replicaId,
      REDIS_URL: redis.url,
      CHAT_API_URL: chatApi.url,
      AUTH_URL: auth.url,
      INTERNAL_JWKS: internalJwks,
      INTERNAL_SIGNING_KEY: keys.assistantIdentity.privateKeyPem,
      AI_BASE_URL: fake.baseUrl,
      AI_MODEL: 'fake-model',
      AI_COALESCE_MS: '20',
      AI_LEASE_MS: '2000',
      AI_RETRY_BUDGET_MS: '5000',
      AI_FIRST_TOKEN_TIMEOUT_MS: '3000',
      AI_IDLE_TIMEOUT_MS: '3000',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...extra,
    });

    return {
      keys,
      redis,
      chatApi,
      auth,
      fake,
      assistantMongoUrl: withDatabase(mongo.url, `${dbName}_assistant`),
      bus,
      deltas,
      firstDeltaAt,
      firstDelta: (messageId) =>
        waitFor(() => {
          const delta = deltas.find((d) => d.replyTo === messageId);
          if (!delta) throw new Error('no delta yet');
          return delta;
        }),
      assistantEnv,
      async startAssistant(replicaId, extra) {
        const replica = await startAssistant({
          config: loadAssistantConfig(assistantEnv(replicaId, extra)),
          logger: testLogger(`assistant-${replicaId}`),
        });
        replicas.push(replica);
        return replica;
      },
      async spawnAssistant(replicaId, extra) {
        const child = await spawnNodeProcess({
          entry: join(REPO_ROOT, 'services', 'assistant', 'src', 'main.ts'),
          label: `assistant-${replicaId}`,
          env: { ...assistantEnv(replicaId, extra), LOG_LEVEL: 'info' },
        });
        processes.push(child);
        return child;
      },
      async register(name) {
        const { user, token } = await registerUser(auth.url, name);
        return { id: user.id, name, claims: claimsOf(token) };
      },
      call,
      request,
      async createAssistantChat(user) {
        return ((await call(user, 'POST', '/api/chats', { type: 'assistant' })) as { chat: Chat }).chat;
      },
      async createGroup(owner, title, members, withAssistant) {
        const memberIds = members.map((m) => m.id);
        if (withAssistant) memberIds.push(ASSISTANT_USER_ID);
        return (
          (await call(owner, 'POST', '/api/chats', { type: 'group', title, memberIds })) as { chat: Chat }
        ).chat;
      },
      async send(user, chatId, text, mentions) {
        return (
          (await call(user, 'POST', `/api/chats/${chatId}/messages`, {
            text,
            clientMsgId: `c-${Date.now()}-${counter++}`,
            ...(mentions ? { mentions } : {}),
          })) as { message: Message }
        ).message;
      },
      messages,
      async answerTo(user, chatId, messageId, timeoutMs = 15_000) {
        return waitFor(async () => {
          const answer = (await messages(user, chatId)).find(
            (m) => m.replyTo === messageId && m.senderId === ASSISTANT_USER_ID,
          );
          if (!answer) throw new Error(`no answer to ${messageId} yet`);
          return answer;
        }, timeoutMs);
      },
      async close() {
        await Promise.allSettled(replicas.map((r) => r.close()));
        await Promise.allSettled(processes.map((p) => p.kill()));
        await bus.close().catch(() => undefined);
        for (const c of connections) c.disconnect();
        await Promise.allSettled(started.reverse().map((s) => s.stop()));
        await Promise.allSettled([redis.close(), mongo.close(), fake.close()]);
      },
    };
  } catch (err) {
    await Promise.allSettled(replicas.map((r) => r.close()));
    await Promise.allSettled(started.map((s) => s.kill()));
    for (const c of connections) c.disconnect();
    await Promise.allSettled([redis.close(), mongo.close(), fake.close()]);
    throw err;
  }
}

/** The deltas of one stream, joined in index order, and whether any index came twice or is missing. */
export function joinDeltas(
  deltas: readonly AiEvent[],
  streamId: string,
): { text: string; duplicates: number; gaps: number } {
  const mine = deltas.filter((d) => d.streamId === streamId);
  const byIndex = new Map<number, string>();
  let duplicates = 0;
  for (const d of mine) {
    if (byIndex.has(d.index)) duplicates++;
    else byIndex.set(d.index, d.delta);
  }
  const max = Math.max(-1, ...byIndex.keys());
  let gaps = 0;
  let text = '';
  for (let i = 0; i <= max; i++) {
    const piece = byIndex.get(i);
    if (piece === undefined) gaps++;
    else text += piece;
  }
  return { text, duplicates, gaps };
}
