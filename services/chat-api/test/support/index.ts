import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Redis } from 'ioredis';
import {
  closeRedis,
  createIdentitySigner,
  createRedisBus,
  createRedisClient,
  importSigningKey,
  IDENTITY_HEADER,
  type ChatEvent,
  type EventBus,
  type IdentitySigner,
  type RunningService,
} from '@cohort/common';
import {
  generateTestKeys,
  spawnService,
  startRedisServer,
  startTestMongo,
  testLogger,
  type RedisServer,
  type ServiceProcess,
  type TestKeys,
  type TestMongo,
  waitFor,
  withDatabase,
} from '@cohort/testkit';
import { loadChatApiConfig, startChatApi } from '../../src';

/** A fresh 24-hex id, like the user ids auth hands out. */
export const newId = (): string => randomBytes(12).toString('hex');

/** Records what chat-api publishes on `chat-events`, read back through a Redis subscription of our own. */
export class EventRecorder {
  readonly events: ChatEvent[] = [];
  private waiters: { match: (e: ChatEvent) => boolean; resolve: (e: ChatEvent) => void }[] = [];

  constructor(
    private readonly bus: EventBus,
    private readonly clients: Redis[],
  ) {}

  static async start(redisUrl: string): Promise<EventRecorder> {
    const logger = testLogger('recorder');
    const publisher = createRedisClient({
      url: redisUrl,
      logger,
      name: 'test-recorder-pub',
      options: { lazyConnect: true },
    });
    const subscriber = createRedisClient({ url: redisUrl, logger, name: 'test-recorder-sub' });
    const bus = createRedisBus({ publisher, subscriber, logger });
    const recorder = new EventRecorder(bus, [publisher, subscriber]);
    await bus.subscribe('chat-events', (event) => recorder.record(event));
    return recorder;
  }

  private record(event: ChatEvent): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  /** The first recorded event matching `match`, waiting for it if it has not arrived yet. */
  next(match: (e: ChatEvent) => boolean, timeoutMs = 5000): Promise<ChatEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('expected chat event did not arrive')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** Resolves once a message published now reaches this recorder (after a Redis restart: it has resubscribed). */
  async probe(): Promise<void> {
    await waitFor(async () => {
      const chatId = `probe-${newId()}`;
      await this.bus.publish('chat-events', { type: 'chat:removed', chatId, userIds: [] });
      await this.next((e) => 'chatId' in e && e.chatId === chatId, 500);
    }, 15_000);
  }

  ofChat(chatId: string): ChatEvent[] {
    return this.events.filter((e) => 'chatId' in e && e.chatId === chatId);
  }

  async close(): Promise<void> {
    await this.bus.close();
    await Promise.all(this.clients.map((c) => closeRedis(c)));
  }
}

export interface Harness {
  readonly url: string;
  readonly keys: TestKeys;
  readonly redis: RedisServer;
  readonly mongo: TestMongo;
  readonly recorder: EventRecorder;
  readonly api: RunningService;
  /** Present with `withAuth`. */
  readonly auth: AuthForTests | undefined;
  /** The `x-cohort-identity` value the gateway would forward for `userId`. */
  identity(userId: string): Promise<string>;
  /** supertest agent on chat-api. */
  http(): ReturnType<typeof request>;
  /** Starts one more chat-api process-in-test on the same store and Redis (a second replica). */
  startReplica(): Promise<RunningService>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Spawn the real auth service (user lookups for direct chats and members). */
  withAuth?: boolean;
  sendRateLimit?: string;
  /** More chat-api environment (say `CHAT_CREATE_RATE_LIMIT`), over the harness's own. */
  env?: Readonly<Record<string, string>>;
  /** Reuse keys (auth must trust the same forwarders). */
  keys?: TestKeys;
}

/** Signs identities exactly as the gateway does in production: its Ed25519 key, common's signer. */
export async function gatewaySigner(keys: TestKeys): Promise<IdentitySigner> {
  return createIdentitySigner(await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA'), 'gateway');
}

export function signFor(signer: IdentitySigner, userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signer.sign({
    userId,
    sessionId: `sess-${userId}`,
    tokenId: `tok-${userId}`,
    issuedAt: now,
    expiresAt: now + 900,
  });
}

/** Real chat-api (startChatApi, port 0) on the test Mongo and a real redis-server, plus a recorder of its events. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const keys = options.keys ?? (await generateTestKeys());
  // Closed in reverse order; also when a later step of the start fails, so nothing outlives the test file.
  const opened: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    const mongo = await startTestMongo('chatapi');
    opened.push(() => mongo.close());
    const redis = await startRedisServer();
    opened.push(() => redis.close());
    const auth = options.withAuth
      ? await startAuth(keys, withDatabase(mongo.url, `auth_${newId().slice(0, 8)}`))
      : undefined;
    if (auth) opened.push(() => auth.stop());
    const config = loadChatApiConfig({
      PORT: '0',
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      MONGO_URL: mongo.url,
      REDIS_URL: redis.url,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      // Nothing listens on port 9 (discard): without auth, user lookups answer 503.
      AUTH_URL: auth?.service.url ?? 'http://127.0.0.1:9',
      SEND_RATE_LIMIT: options.sendRateLimit ?? '100000/10s',
      // Tests create chats, add members and edit far faster than a person; limits.test.ts sets its own.
      CHAT_CREATE_RATE_LIMIT: '100000/10s',
      MEMBER_ADD_RATE_LIMIT: '100000/10s',
      MESSAGE_EDIT_RATE_LIMIT: '100000/10s',
      ...options.env,
    });
    const recorder = await EventRecorder.start(redis.url);
    opened.push(() => recorder.close());
    const api = await startChatApi({ config, logger: testLogger('chat-api') });
    opened.push(() => api.close());
    const signer = await gatewaySigner(keys);
    const url = `http://127.0.0.1:${api.port}`;
    return {
      url,
      keys,
      redis,
      mongo,
      recorder,
      api,
      auth,
      identity: (userId) => signFor(signer, userId),
      http: () => request(url),
      async startReplica() {
        const replica = await startChatApi({ config, logger: testLogger('chat-api-2') });
        opened.push(() => replica.close());
        return replica;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** A small client for one user, speaking to chat-api with the gateway's forwarded identity. */
export class ChatClient {
  constructor(
    private readonly h: Pick<Harness, 'http' | 'identity'>,
    readonly userId: string,
  ) {}

  private async auth() {
    return { [IDENTITY_HEADER]: await this.h.identity(this.userId) };
  }
  async get(path: string) {
    return this.h
      .http()
      .get(path)
      .set(await this.auth());
  }
  async post(path: string, body?: unknown) {
    const req = this.h
      .http()
      .post(path)
      .set(await this.auth());
    return body === undefined ? req : req.send(body as object);
  }
  async patch(path: string, body: unknown) {
    return this.h
      .http()
      .patch(path)
      .set(await this.auth())
      .send(body as object);
  }
  async delete(path: string) {
    return this.h
      .http()
      .delete(path)
      .set(await this.auth());
  }

  /** Creates a group owned by this user and returns its id. */
  async createGroup(title = 'group', memberIds?: string[]): Promise<string> {
    const res = await this.post('/api/chats', { type: 'group', title, ...(memberIds ? { memberIds } : {}) });
    if (res.status !== 201) throw new Error(`createGroup: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { chat: { id: string } }).chat.id;
  }

  async send(chatId: string, text: string, clientMsgId = `c-${newId()}`) {
    return this.post(`/api/chats/${chatId}/messages`, { text, clientMsgId });
  }
}

export interface AuthForTests {
  service: ServiceProcess;
  /** Registers a user through auth's public API and returns its id. */
  register(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The real auth service as a process (testkit spawnService), on the same store, trusting the same forwarders. */
export async function startAuth(keys: TestKeys, mongoUrl: string): Promise<AuthForTests> {
  const service = await spawnService({
    service: 'auth',
    env: {
      MONGO_URL: mongoUrl,
      JWT_PRIVATE_KEY: keys.access.privateKeyPem,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      BCRYPT_COST: '4',
      PASSWORD_HASH_THREADS: '1',
      LOGIN_IP_LIMIT: '100000',
      LOG_LEVEL: 'info', // the harness waits for the info-level `listening` line
    },
  });
  let counter = 0;
  return {
    service,
    async register(name = 'user') {
      counter += 1;
      const res = await request(service.url)
        .post('/api/auth/register')
        .send({
          email: `${name}-${counter}-${newId().slice(0, 6)}@example.test`,
          password: 'correct horse battery',
          fullName: { firstName: name, lastName: 'Test' },
        });
      if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { user: { id: string } }).user.id;
    },
    stop: () => service.stop(),
  };
}
