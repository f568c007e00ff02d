import request from 'supertest';
import { io as connect, type Socket } from 'socket.io-client';
import { readCookie, type ClientToServerEvents, type ServerToClientEvents } from '@cohort/common';
import {
  generateTestKeys,
  spawnService,
  startRedisServer,
  startTestMongo,
  withDatabase,
  type RedisServer,
  type ServiceProcess,
  type TestKeys,
  type TestMongo,
} from '@cohort/testkit';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * The real gateway (as a process, exactly as main.ts runs) in front of the real auth, chat-api and realtime
 * (processes), on the embedded Mongo-compatible store and a real redis-server (shared denylist), in
 * embedded mode: one origin serves the API and /socket.io.
 */
describe('gateway in front of the real services', () => {
  let keys: TestKeys;
  let mongo: TestMongo;
  let redis: RedisServer;
  const processes: ServiceProcess[] = [];
  let auth: ServiceProcess;
  let chatApi: ServiceProcess;
  let gateway: ServiceProcess;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    keys = await generateTestKeys();
    [mongo, redis] = await Promise.all([startTestMongo('gateway'), startRedisServer()]);
    const db = new URL(mongo.url).pathname.slice(1);
    const internalJwks = JSON.stringify(keys.internalJwks);
    try {
      auth = await spawnService({
        service: 'auth',
        env: {
          MONGO_URL: withDatabase(mongo.url, `${db}_auth`),
          REDIS_URL: redis.url,
          JWT_PRIVATE_KEY: keys.access.privateKeyPem,
          INTERNAL_JWKS: internalJwks,
          BCRYPT_COST: '4',
          PASSWORD_HASH_THREADS: '1',
          LOGIN_IP_LIMIT: '10000',
        },
      });
      processes.push(auth);
      chatApi = await spawnService({
        service: 'chat-api',
        env: {
          MONGO_URL: withDatabase(mongo.url, `${db}_chat`),
          REDIS_URL: redis.url,
          INTERNAL_JWKS: internalJwks,
          AUTH_URL: auth.url,
        },
      });
      processes.push(chatApi);
      const realtime = await spawnService({
        service: 'realtime',
        env: {
          REDIS_URL: redis.url,
          JWKS_URL: `${auth.url}/api/auth/jwks.json`,
          INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
          CHAT_API_URL: chatApi.url,
        },
      });
      processes.push(realtime);
      gateway = await spawnService({
        service: 'gateway',
        env: {
          AUTH_URL: auth.url,
          CHAT_API_URL: chatApi.url,
          REALTIME_URL: realtime.url,
          REDIS_URL: redis.url,
          INTERNAL_SIGNING_KEY: keys.gatewayIdentity.privateKeyPem,
          // chat-api is killed for good below: the 502 without waiting out a restart.
          UPSTREAM_RETRY_BUDGET_MS: '500',
        },
      });
      processes.push(gateway);
    } catch (err) {
      await Promise.allSettled(processes.map((p) => p.kill()));
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await Promise.allSettled([...processes].reverse().map((p) => p.stop()));
    await Promise.allSettled([redis?.close(), mongo?.close()]);
  }, 30_000);

  const api = () => request(gateway.url);
  let n = 0;

  interface Session {
    userId: string;
    token: string;
    refresh: string;
    /** Cookie header as a browser would send it to /api/auth/*. */
    cookie: string;
  }

  const cookiesOf = (res: request.Response): string => {
    const set = res.headers['set-cookie'] as unknown as string[] | undefined;
    return (set ?? []).map((c) => c.split(';')[0] ?? '').join('; ');
  };

  const register = async (name: string): Promise<Session> => {
    const res = await api()
      .post('/api/auth/register')
      .send({
        email: `${name}.${Date.now()}.${n++}@Example.test`,
        password: 'correct horse battery',
        fullName: { firstName: name, lastName: 'Test' },
      });
    expect(res.status).toBe(201);
    const cookie = cookiesOf(res);
    const token = readCookie(cookie, 'token');
    const refresh = readCookie(cookie, 'refresh_token');
    if (!token || !refresh) throw new Error(`register set no session cookies: ${cookie}`);
    return { userId: res.body.user.id as string, token, refresh, cookie };
  };

  it('registers, then serves the session from its cookie (GET /api/auth/me)', async () => {
    const alice = await register('alice');
    const me = await api().get('/api/auth/me').set('Cookie', `token=${alice.token}`);
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({
      id: alice.userId,
      fullName: { firstName: 'alice', lastName: 'Test' },
    });
    expect(me.body.user.passwordHash).toBeUndefined();
  });

  it('serves auth’s public keys without a session', async () => {
    const res = await api().get('/api/auth/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys[0]).toMatchObject({ kty: 'EC', kid: keys.accessJwks.keys[0]?.kid });
  });

  it('logs in, creates a chat, sends and lists messages through the gateway (cookie and bearer)', async () => {
    const bob = await register('bob');
    const email = (await api().get('/api/auth/me').set('Cookie', `token=${bob.token}`)).body.user
      .email as string;
    const login = await api().post('/api/auth/login').send({ email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    const token = readCookie(cookiesOf(login), 'token') ?? '';

    const created = await api()
      .post('/api/chats')
      .set('Cookie', `token=${token}`)
      .send({ type: 'group', title: 'gateway test' });
    expect(created.status).toBe(201);
    const chatId = created.body.chat.id as string;
    expect(created.body.chat.ownerId).toBe(bob.userId);

    const sent = await api()
      .post(`/api/chats/${chatId}/messages`)
      .set('Authorization', `Bearer ${token}`)
      .send({ text: '  hello through the gateway  ', clientMsgId: 'gw-1' });
    expect(sent.status).toBe(201);
    expect(sent.body.message).toMatchObject({
      chatId,
      seq: 1,
      senderId: bob.userId,
      text: 'hello through the gateway',
    });

    const listed = await api().get(`/api/chats/${chatId}/messages`).set('Cookie', `token=${token}`);
    expect(listed.status).toBe(200);
    expect(listed.body.messages.map((m: { clientMsgId: string }) => m.clientMsgId)).toEqual(['gw-1']);

    const chats = await api().get('/api/chats').set('Authorization', `Bearer ${token}`);
    expect(chats.status).toBe(200);
    expect(chats.body.chats[0]).toMatchObject({ id: chatId, lastMessage: { seq: 1 } });
  });

  it('acts as the token’s user whatever x-user-id a client sends', async () => {
    const carol = await register('carol');
    const dave = await register('dave');
    const res = await api()
      .post('/api/chats')
      .set('Authorization', `Bearer ${carol.token}`)
      .set('X-User-Id', dave.userId)
      .set('X-Cohort-Identity', 'forged')
      .send({ type: 'group', title: 'whose?' });
    expect(res.status).toBe(201);
    expect(res.body.chat.ownerId).toBe(carol.userId);
  });

  it('is the only way in: chat-api refuses a direct request with a spoofed x-user-id (401)', async () => {
    const erin = await register('erin');
    const res = await request(chatApi.url).get('/api/chats').set('X-User-Id', erin.userId);
    expect(res.status).toBe(401);
  });

  it('refuses a cookie-authenticated POST from a foreign origin (403 csrf)', async () => {
    const frank = await register('frank');
    const res = await api()
      .post('/api/chats')
      .set('Cookie', `token=${frank.token}`)
      .set('Origin', 'https://evil.example')
      .send({ type: 'group', title: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('csrf');
  });

  it('rotates cookies on refresh, and refuses the old access token everywhere after logout', async () => {
    const gina = await register('gina');
    const refreshed = await api().post('/api/auth/refresh').set('Cookie', `refresh_token=${gina.refresh}`);
    expect(refreshed.status).toBe(200);
    const token = readCookie(cookiesOf(refreshed), 'token') ?? '';
    expect(token).not.toBe('');

    const out = await api()
      .post('/api/auth/logout')
      .set('Cookie', `token=${token}; refresh_token=${readCookie(cookiesOf(refreshed), 'refresh_token')}`);
    expect(out.status).toBe(204);
    const after = await api().get('/api/chats').set('Authorization', `Bearer ${token}`);
    expect(after.status).toBe(401);
  });

  it('carries Socket.IO (websocket) to realtime: the handshake authenticates from the cookie and messages are delivered', async () => {
    const hank = await register('hank');
    const ivy = await register('ivy');
    const chat = await api()
      .post('/api/chats')
      .set('Authorization', `Bearer ${hank.token}`)
      .send({ type: 'group', title: 'live', memberIds: [ivy.userId] });
    expect(chat.status).toBe(201);
    const chatId = chat.body.chat.id as string;

    const open = (token: string) =>
      new Promise<ClientSocket>((resolve, reject) => {
        const socket: ClientSocket = connect(gateway.url, {
          transports: ['websocket'],
          extraHeaders: { cookie: `token=${token}` },
          reconnection: false,
        });
        sockets.push(socket);
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    const [hankSocket, ivySocket] = await Promise.all([open(hank.token), open(ivy.token)]);
    const delivered = new Promise<unknown>((resolve) =>
      ivySocket.once('chat:new', ({ message }) => resolve(message)),
    );
    const ack = await hankSocket
      .timeout(5000)
      .emitWithAck('chat:send', { chatId, text: 'over the socket', clientMsgId: 'ws-1' });
    expect(ack).toMatchObject({
      ok: true,
      message: { chatId, text: 'over the socket', senderId: hank.userId },
    });
    await expect(delivered).resolves.toMatchObject({ chatId, clientMsgId: 'ws-1' });
  });

  it('refuses a Socket.IO handshake without a session (connect_error unauthorized)', async () => {
    const socket: ClientSocket = connect(gateway.url, { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    await expect(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      }),
    ).rejects.toThrow('unauthorized');
  });

  it('reports ready with every upstream and Redis reachable', async () => {
    const res = await api().get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({
      redis: 'ok',
      auth: 'ok',
      'chat-api': 'ok',
      realtime: 'ok',
      accepting: 'ok',
    });
  });

  it('answers 502 when chat-api dies, and keeps serving auth', async () => {
    const judy = await register('judy');
    await chatApi.kill();
    const res = await api().get('/api/chats').set('Authorization', `Bearer ${judy.token}`);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_unavailable');
    expect((await api().get('/api/auth/me').set('Authorization', `Bearer ${judy.token}`)).status).toBe(200);
  });
});
