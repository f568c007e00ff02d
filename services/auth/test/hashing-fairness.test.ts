import request from 'supertest';
import { startTestMongo, type TestMongo } from '@cohort/testkit';
import { GOOD_PASSWORD, newUser, startTestAuth, type TestAuth } from './support';

const OWNER = '198.51.100.7';

/**
 * Concurrent bad logins against the real app and its real worker pool (one thread, bcrypt cost 10: ~60 ms a
 * check, so a flood keeps the pool busy for seconds): whoever floods, a login from elsewhere still gets through.
 */
describe('the hashing pool is shared fairly', () => {
  let mongo: TestMongo;
  let auth: TestAuth;
  const owner = newUser();

  beforeAll(async () => {
    mongo = await startTestMongo('auth_hashing_fairness');
    auth = await startTestAuth({
      mongoUrl: mongo.url,
      env: { BCRYPT_COST: '10', PASSWORD_HASH_THREADS: '1', LOGIN_IP_LIMIT: '100000' },
    });
    await request(auth.url).post('/api/auth/register').set('X-Forwarded-For', OWNER).send(owner).expect(201);
  }, 30_000);
  afterAll(async () => {
    await auth?.close();
    await mongo?.close();
  });

  const login = (address: string, email: string, password: string) =>
    request(auth.url).post('/api/auth/login').set('X-Forwarded-For', address).send({ email, password });

  /** Fires `count` bad logins (unknown emails: each costs a comparison) and resolves with their statuses. */
  function flood(addresses: readonly string[], count: number) {
    const answers = Array.from({ length: count }, (_, i) =>
      login(addresses[i % addresses.length]!, `flood-${Date.now()}-${i}@example.com`, 'wrong-password').then(
        (res) => ({
          status: res.status,
          retryAfter: res.headers['retry-after'] as string | undefined,
          at: performance.now(),
        }),
      ),
    );
    // Refusals are answered on arrival: once 20 are back the whole flood is in, and the owner logs in while
    // what was admitted of it is being hashed.
    let answered = 0;
    const floodIsIn = new Promise<void>((resolve) => {
      for (const answer of answers)
        void answer.then(() => {
          answered += 1;
          if (answered === 20) resolve();
        });
    });
    return { floodIsIn, all: Promise.all(answers) };
  }

  it('lets a login from another address succeed while one address floods bad logins', async () => {
    const attack = flood(['203.0.113.66'], 60);
    await attack.floodIsIn;
    const res = await login(OWNER, owner.email, GOOD_PASSWORD);
    expect(res.status).toBe(200);

    const answers = await attack.all;
    const statuses = answers.map((a) => a.status);
    // The flood got a small share: past its few checks in progress it was turned away at once with 429 and
    // Retry-After (how many got a turn depends on how fast the flood arrived), and nobody saw 503.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
    for (const a of answers.filter((x) => x.status === 429)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  }, 30_000);

  it('lets a login through while a few addresses flood together, past the queue size, ahead of their backlog', async () => {
    const attack = flood(['203.0.113.71', '203.0.113.72', '203.0.113.73'], 60);
    await attack.floodIsIn;
    const res = await login(OWNER, owner.email, GOOD_PASSWORD);
    const ownerAnsweredAt = performance.now();
    expect(res.status).toBe(200);
    const answers = await attack.all;
    // Its turn came after about one check per flooding address, not after everything they had queued: first
    // come, first served would have answered every admitted flood check first.
    const checkedAfterOwner = answers.filter((a) => a.status === 401 && a.at > ownerAnsweredAt);
    expect(checkedAfterOwner.length).toBeGreaterThanOrEqual(5);
  }, 30_000);

  it('caps the checks in progress at one account, whatever the addresses', async () => {
    const victim = newUser();
    await request(auth.url)
      .post('/api/auth/register')
      .set('X-Forwarded-For', '192.0.2.60')
      .send(victim)
      .expect(201);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        login(`203.0.113.${120 + i}`, victim.email, `guess-${i}-password`),
      ),
    );
    const statuses = answers.map((r) => r.status);
    // At most 5 at a time: with 12 guesses arriving together, most are refused (a few may arrive after a check ended).
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  }, 30_000);
});
