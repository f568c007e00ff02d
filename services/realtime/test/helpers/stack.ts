import {
  createIdentitySigner,
  IDENTITY_HEADER,
  importSigningKey,
  type AccessClaims,
  type Chat,
  type IdentitySigner,
  type Message,
} from '@cohort/common';
import {
  claimsOf,
  registerUser,
  generateTestKeys,
  spawnService,
  startRedisServer,
  startTestMongo,
  testLogger,
  withDatabase,
  type RedisServer,
  type ServiceProcess,
  type TestKeys,
  type TestMongo,
} from '@cohort/testkit';
import { loadRealtimeConfig } from '../../src/config';
import { startRealtime, type RunningRealtime } from '../../src/main';

export interface TestUser {
  id: string;
  email: string;
  /** The access JWT auth set in the `token` cookie. */
  token: string;
  claims: AccessClaims;
}

/**
 * The real neighbours of realtime: a redis-server, the test Mongo, auth and chat-api as processes (exactly as
 * `main.ts` runs them). Calls the tests make to auth/chat-api carry an identity forwarded the way the gateway does.
 */
export interface Stack {
  keys: TestKeys;
  redis: RedisServer;
  auth: ServiceProcess;
  chatApi: ServiceProcess;
  /** Environment of a realtime replica wired to this stack. */
  realtimeEnv(replicaId: string, extra?: Record<string, string>): Record<string, string>;
  /** Starts a replica in this process. */
  startReplica(replicaId: string, extra?: Record<string, string>): Promise<RunningRealtime>;
  register(name: string): Promise<TestUser>;
  createGroup(owner: TestUser, title: string, members: TestUser[]): Promise<Chat>;
  addMember(owner: TestUser, chatId: string, member: TestUser): Promise<void>;
  removeMember(owner: TestUser, chatId: string, member: TestUser): Promise<void>;
  /** Sends through chat-api's REST route (as a browser would through the gateway). */
  postMessage(sender: TestUser, chatId: string, text: string, clientMsgId: string): Promise<Message>;
  /** Edits through chat-api's REST route. */
  editMessage(user: TestUser, chatId: string, messageId: string, text: string): Promise<Message>;
  listMessages(user: TestUser, chatId: string, afterSeq: number): Promise<Message[]>;
  logout(user: TestUser): Promise<void>;
  /** Any chat-api route as `user` (the gateway's forwarding): the parsed body; a status ≥ 400 throws. */
  chatApiCall(user: TestUser, method: string, path: string, body?: unknown): Promise<unknown>;
  /** PUT / DELETE /api/users/:userId/block through chat-api. */
  block(blocker: TestUser, blocked: TestUser): Promise<void>;
  unblock(blocker: TestUser, blocked: TestUser): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const keys = await generateTestKeys();
  const redis = await startRedisServer();
  const mongo: TestMongo = await startTestMongo('realtime');
  const started: ServiceProcess[] = [];
  const replicas: RunningRealtime[] = [];
  try {
    const internalJwks = JSON.stringify(keys.internalJwks);
    const auth = await spawnService({
      service: 'auth',
      env: {
        MONGO_URL: withDatabase(mongo.url, `${new URL(mongo.url).pathname.slice(1)}_auth`),
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
        MONGO_URL: withDatabase(mongo.url, `${new URL(mongo.url).pathname.slice(1)}_chat`),
        REDIS_URL: redis.url,
        INTERNAL_JWKS: internalJwks,
        AUTH_URL: auth.url,
        SEND_RATE_LIMIT: '10000/10s',
      },
    });
    started.push(chatApi);

    const signer: IdentitySigner = createIdentitySigner(
      await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA'),
      'gateway',
    );
    const call = async (user: TestUser, base: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          [IDENTITY_HEADER]: await signer.sign(user.claims),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
      return text ? (JSON.parse(text) as unknown) : undefined;
    };

    const realtimeEnv = (replicaId: string, extra: Record<string, string> = {}) => ({
      NODE_ENV: 'test',
      PORT: '0',
      REPLICA_ID: replicaId,
      REDIS_URL: redis.url,
      JWKS_URL: `${auth.url}/api/auth/jwks.json`,
      INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
      CHAT_API_URL: chatApi.url,
      PRESENCE_TTL_MS: '6000',
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...extra,
    });

    return {
      keys,
      redis,
      auth,
      chatApi,
      realtimeEnv,
      async startReplica(replicaId, extra) {
        const replica = await startRealtime({
          config: loadRealtimeConfig(realtimeEnv(replicaId, extra)),
          logger: testLogger(`realtime-${replicaId}`),
        });
        replicas.push(replica);
        return replica;
      },
      async register(name) {
        const { user, token } = await registerUser(auth.url, name);
        return { id: user.id, email: user.email, token, claims: claimsOf(token) };
      },
      async createGroup(owner, title, members) {
        const body = (await call(owner, chatApi.url, 'POST', '/api/chats', {
          type: 'group',
          title,
          memberIds: members.map((m) => m.id),
        })) as { chat: Chat };
        return body.chat;
      },
      async addMember(owner, chatId, member) {
        await call(owner, chatApi.url, 'POST', `/api/chats/${chatId}/members`, { userId: member.id });
      },
      async removeMember(owner, chatId, member) {
        await call(owner, chatApi.url, 'DELETE', `/api/chats/${chatId}/members/${member.id}`);
      },
      async postMessage(sender, chatId, text, clientMsgId) {
        return (
          (await call(sender, chatApi.url, 'POST', `/api/chats/${chatId}/messages`, {
            text,
            clientMsgId,
          })) as { message: Message }
        ).message;
      },
      async editMessage(user, chatId, messageId, text) {
        return (
          (await call(user, chatApi.url, 'PATCH', `/api/chats/${chatId}/messages/${messageId}`, {
            text,
          })) as {
            message: Message;
          }
        ).message;
      },
      async listMessages(user, chatId, afterSeq) {
        return (
          (await call(
            user,
            chatApi.url,
            'GET',
            `/api/chats/${chatId}/messages?after=${afterSeq}&limit=100`,
          )) as { messages: Message[] }
        ).messages;
      },
      async logout(user) {
        await call(user, auth.url, 'POST', '/api/auth/logout');
      },
      chatApiCall: (user, method, path, body) => call(user, chatApi.url, method, path, body),
      async block(blocker, blocked) {
        await call(blocker, chatApi.url, 'PUT', `/api/users/${blocked.id}/block`);
      },
      async unblock(blocker, blocked) {
        await call(blocker, chatApi.url, 'DELETE', `/api/users/${blocked.id}/block`);
      },
      async close() {
        await Promise.allSettled(replicas.map((r) => r.close()));
        await Promise.allSettled(started.reverse().map((s) => s.stop()));
        await Promise.allSettled([redis.close(), mongo.close()]);
      },
    };
  } catch (err) {
    await Promise.allSettled(replicas.map((r) => r.close()));
    await Promise.allSettled(started.map((s) => s.kill()));
    await Promise.allSettled([redis.close(), mongo.close()]);
    throw err;
  }
}
