import request from 'supertest';
import {
  startRedisServer,
  startTestMongo,
  generateTestKeys,
  type RedisServer,
  type TestMongo,
  type TestKeys,
} from '@cohort/testkit';
import { GOOD_PASSWORD, newUser, startTestAuth, type TestAuth } from './support';

const ATTACKER = '203.0.113.66';
const OWNER = '198.51.100.7';

function attempt(auth: TestAuth, ip: string, email: string, password: string) {
  return request(auth.url).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });
}

describe('login limits shared through Redis', () => {
  let mongo: TestMongo;
  let redis: RedisServer;
  let keys: TestKeys;
  let replicaA: TestAuth;
  let replicaB: TestAuth;
  beforeAll(async () => {
    [mongo, redis, keys] = await Promise.all([
      startTestMongo('auth_limits'),
      startRedisServer(),
      generateTestKeys(),
    ]);
    const env = { REDIS_URL: redis.url };
    replicaA = await startTestAuth({ mongoUrl: mongo.url, keys, env });
    replicaB = await startTestAuth({ mongoUrl: mongo.url, keys, env });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await redis?.close();
    await mongo?.close();
  });

  async function registered(): Promise<{ email: string }> {
    const body = newUser();
    await request(replicaA.url)
      .post('/api/auth/register')
      .set('X-Forwarded-For', '192.0.2.1')
      .send(body)
      .expect(201);
    return body;
  }

  it('answers 429 with Retry-After after 5 failed logins for one account from one IP', async () => {
    const { email } = await registered();
    for (let i = 0; i < 5; i += 1) {
      expect((await attempt(replicaA, ATTACKER, email, `wrong-${i}-password`)).status).toBe(401);
    }
    const res = await attempt(replicaA, ATTACKER, email, 'wrong-again-password');
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('rate_limited');
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  });

  it('refuses even the right password from the locked-out IP', async () => {
    const { email } = await registered();
    for (let i = 0; i < 5; i += 1) await attempt(replicaA, ATTACKER, email, `wrong-${i}-password`);
    expect((await attempt(replicaA, ATTACKER, email, GOOD_PASSWORD)).status).toBe(429);
  });

  it('lets the real user log in from another IP while an attacker is locked out', async () => {
    const { email } = await registered();
    for (let i = 0; i < 6; i += 1) await attempt(replicaA, ATTACKER, email, `wrong-${i}-password`);
    expect((await attempt(replicaA, ATTACKER, email, GOOD_PASSWORD)).status).toBe(429);
    expect((await attempt(replicaA, OWNER, email, GOOD_PASSWORD)).status).toBe(200);
  });

  it('counts failures on every replica together', async () => {
    const { email } = await registered();
    for (let i = 0; i < 5; i += 1) {
      const replica = i % 2 === 0 ? replicaA : replicaB;
      expect((await attempt(replica, ATTACKER, email, `wrong-${i}-password`)).status).toBe(401);
    }
    expect((await attempt(replicaB, ATTACKER, email, 'wrong-again-password')).status).toBe(429);
    expect((await attempt(replicaA, ATTACKER, email, 'wrong-again-password')).status).toBe(429);
  });

  it('forgets earlier failures after a successful login', async () => {
    const { email } = await registered();
    for (let i = 0; i < 4; i += 1) await attempt(replicaA, OWNER, email, `typo-${i}-password`);
    expect((await attempt(replicaA, OWNER, email, GOOD_PASSWORD)).status).toBe(200);
    for (let i = 0; i < 5; i += 1) {
      expect((await attempt(replicaA, OWNER, email, `typo-${i}-password`)).status).toBe(401);
    }
    expect((await attempt(replicaA, OWNER, email, GOOD_PASSWORD)).status).toBe(429);
  });

  it('allows no more than 5 guesses even when they arrive all at once', async () => {
    const { email } = await registered();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        attempt(i % 2 ? replicaA : replicaB, ATTACKER, email, `burst-${i}-password`),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });
});

describe('per-IP ceiling on register and login', () => {
  let mongo: TestMongo;
  let redis: RedisServer;
  let auth: TestAuth;
  beforeAll(async () => {
    [mongo, redis] = await Promise.all([startTestMongo('auth_ip_limit'), startRedisServer()]);
    auth = await startTestAuth({ mongoUrl: mongo.url, env: { REDIS_URL: redis.url, LOGIN_IP_LIMIT: '4' } });
  });
  afterAll(async () => {
    await auth?.close();
    await redis?.close();
    await mongo?.close();
  });

  it('answers 429 once one IP has made LOGIN_IP_LIMIT register and login requests, and not for another IP', async () => {
    const ip = '203.0.113.90';
    const body = newUser();
    expect(
      (await request(auth.url).post('/api/auth/register').set('X-Forwarded-For', ip).send(body)).status,
    ).toBe(201);
    expect((await attempt(auth, ip, body.email, GOOD_PASSWORD)).status).toBe(200);
    expect((await attempt(auth, ip, body.email, 'wrong-password-1')).status).toBe(401);
    expect(
      (await request(auth.url).post('/api/auth/register').set('X-Forwarded-For', ip).send(newUser())).status,
    ).toBe(201);
    const refused = await attempt(auth, ip, body.email, GOOD_PASSWORD);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(
      (await request(auth.url).post('/api/auth/register').set('X-Forwarded-For', ip).send(newUser())).status,
    ).toBe(429);
    expect((await attempt(auth, '198.51.100.90', body.email, GOOD_PASSWORD)).status).toBe(200);
  });
});

describe('login limits in embedded mode (no Redis)', () => {
  let mongo: TestMongo;
  let auth: TestAuth;
  beforeAll(async () => {
    mongo = await startTestMongo('auth_limits_mem');
    auth = await startTestAuth({ mongoUrl: mongo.url });
  });
  afterAll(async () => {
    await auth?.close();
    await mongo?.close();
  });

  it('locks out the sixth attempt and not another IP', async () => {
    const body = newUser();
    await request(auth.url).post('/api/auth/register').send(body).expect(201);
    for (let i = 0; i < 5; i += 1)
      expect((await attempt(auth, ATTACKER, body.email, `wrong-${i}-password`)).status).toBe(401);
    expect((await attempt(auth, ATTACKER, body.email, GOOD_PASSWORD)).status).toBe(429);
    expect((await attempt(auth, OWNER, body.email, GOOD_PASSWORD)).status).toBe(200);
  });
});

describe('limits that no choice of address dodges', () => {
  let mongo: TestMongo;
  let auth: TestAuth;
  beforeAll(async () => {
    mongo = await startTestMongo('auth_limits_addresses');
    auth = await startTestAuth({
      mongoUrl: mongo.url,
      env: { LOGIN_IP_LIMIT: '3', LOGIN_ACCOUNT_LIMIT: '4' },
    });
  });
  afterAll(async () => {
    await auth?.close();
    await mongo?.close();
  });

  it('keys the per-address ceiling on the address the one trusted hop gave, not on ones a client prepended', async () => {
    // The edge (a local peer) wrote 10.0.0.7; everything to its left came from the client and changes each time.
    const statuses: number[] = [];
    for (let i = 1; i <= 4; i += 1) {
      const res = await request(auth.url)
        .post('/api/auth/login')
        .set('X-Forwarded-For', `198.51.100.${i}, 10.0.0.7`)
        .send({ email: `nobody-${i}@example.com`, password: 'wrong-password' });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Another address the edge saw is unaffected.
    const other = await request(auth.url)
      .post('/api/auth/login')
      .set('X-Forwarded-For', '10.0.0.8')
      .send({ email: 'nobody@example.com', password: 'wrong-password' });
    expect(other.status).toBe(401);
  });

  it('limits failed logins at one account from all addresses together', async () => {
    const body = newUser();
    await request(auth.url)
      .post('/api/auth/register')
      .set('X-Forwarded-For', '192.0.2.200')
      .send(body)
      .expect(201);
    for (let i = 1; i <= 4; i += 1)
      expect((await attempt(auth, `203.0.113.${100 + i}`, body.email, `wrong-${i}-password`)).status).toBe(
        401,
      );
    const refused = await attempt(auth, '203.0.113.200', body.email, 'wrong-again-password');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('does not count successful logins against the account', async () => {
    const body = newUser();
    await request(auth.url)
      .post('/api/auth/register')
      .set('X-Forwarded-For', '192.0.2.201')
      .send(body)
      .expect(201);
    for (let i = 1; i <= 6; i += 1)
      expect((await attempt(auth, `192.0.2.${10 + i}`, body.email, GOOD_PASSWORD)).status).toBe(200);
  });
});
