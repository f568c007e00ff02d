import request from 'supertest';
import type { Redis } from 'ioredis';
import {
  ACCESS_COOKIE,
  closeRedis,
  createAccessTokenVerifier,
  createIdentitySigner,
  createRedisBus,
  createRedisClient,
  createRedisDenylist,
  importSigningKey,
  type EventBus,
  type SessionEvent,
  type RunningService,
} from '@cohort/common';
import {
  generateTestKeys,
  startRedisServer,
  startTestMongo,
  testLogger,
  type RedisServer,
  type TestKeys,
  type TestMongo,
} from '@cohort/testkit';
import { loadAuthConfig, startAuth } from '../src';
import { cookieValue, newUser } from './support';

/** Cluster mode: with REDIS_URL and nothing injected, auth uses Redis for its bus, denylist and limits. */
describe('auth with REDIS_URL (cluster mode)', () => {
  let mongo: TestMongo;
  let redis: RedisServer;
  let keys: TestKeys;
  let auth: RunningService;
  let url: string;
  // What another service (the gateway, a realtime replica) sees through the same Redis.
  let publisher: Redis;
  let subscriber: Redis;
  let otherServiceBus: EventBus;

  beforeAll(async () => {
    [mongo, redis, keys] = await Promise.all([
      startTestMongo('auth_redis'),
      startRedisServer(),
      generateTestKeys(),
    ]);
    const config = loadAuthConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      MONGO_URL: mongo.url,
      REDIS_URL: redis.url,
      JWT_PRIVATE_KEY: keys.access.privateKeyPem,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      BCRYPT_COST: '4',
      PASSWORD_HASH_THREADS: '1',
    });
    auth = await startAuth({ config, logger: testLogger('auth') });
    url = `http://127.0.0.1:${auth.port}`;
    publisher = createRedisClient({ url: redis.url, logger: testLogger(), name: 'other-pub' });
    subscriber = createRedisClient({ url: redis.url, logger: testLogger(), name: 'other-sub' });
    otherServiceBus = createRedisBus({ publisher, subscriber, logger: testLogger() });
  });
  afterAll(async () => {
    await auth?.close();
    await otherServiceBus?.close();
    await Promise.all([publisher, subscriber].filter(Boolean).map((c) => closeRedis(c)));
    await redis?.close();
    await mongo?.close();
  });

  it('reports Redis in /readyz', async () => {
    const res = await request(url).get('/readyz');
    expect(res.body).toMatchObject({ status: 'ready', checks: { mongo: 'ok', redis: 'ok' } });
  });

  it('publishes session:revoked over Redis and denies the token in the Redis denylist on logout', async () => {
    const res = await request(url).post('/api/auth/register').send(newUser()).expect(201);
    const token = cookieValue(res, ACCESS_COOKIE);
    const claims = await createAccessTokenVerifier({ jwks: keys.accessJwks })(token);
    let resolveEvent: (event: SessionEvent) => void = () => undefined;
    const received = new Promise<SessionEvent>((resolve) => {
      resolveEvent = resolve;
    });
    // Resolves once Redis acknowledged the SUBSCRIBE, so the logout below cannot publish too early.
    await otherServiceBus.subscribe('session-events', (event) => {
      if (event.sessionId === claims.sessionId) resolveEvent(event);
    });
    const gatewayVerify = createAccessTokenVerifier({
      jwks: new URL('/api/auth/jwks.json', url),
      denylist: createRedisDenylist(publisher),
    });
    await expect(gatewayVerify(token)).resolves.toMatchObject({ userId: claims.userId });

    const signer = createIdentitySigner(
      await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA'),
      'gateway',
    );
    await request(url)
      .post('/api/auth/logout')
      .set('x-cohort-identity', await signer.sign(claims))
      .expect(204);

    await expect(received).resolves.toEqual({
      type: 'session:revoked',
      sessionId: claims.sessionId,
      userId: claims.userId,
    });
    await expect(gatewayVerify(token)).rejects.toMatchObject({ status: 401 });
  });
});
