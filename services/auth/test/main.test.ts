import {
  generateTestKeys,
  spawnService,
  startTestMongo,
  type ServiceProcess,
  type TestMongo,
} from '@cohort/testkit';
import request from 'supertest';
import { GOOD_PASSWORD, newUser } from './support';

describe('auth as a process (main.ts)', () => {
  let mongo: TestMongo;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    mongo = await startTestMongo('auth_main');
  });
  afterAll(async () => {
    await service?.kill();
    await mongo?.close();
  });

  it('logs listening with its port, hashes in worker threads from source, and stops cleanly on SIGTERM', async () => {
    const keys = await generateTestKeys();
    service = await spawnService({
      service: 'auth',
      env: {
        MONGO_URL: mongo.url,
        JWT_PRIVATE_KEY: keys.access.privateKeyPem.replace(/\n/g, '\\n'),
        INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
        BCRYPT_COST: '4',
        PASSWORD_HASH_THREADS: '1',
      },
    });
    expect(service.port).toBeGreaterThan(0);
    expect((await request(service.url).get('/healthz')).status).toBe(200);
    const body = newUser();
    await request(service.url).post('/api/auth/register').send(body).expect(201);
    await request(service.url)
      .post('/api/auth/login')
      .send({ email: body.email, password: GOOD_PASSWORD })
      .expect(200);

    // Signalled directly: testkit's stop() never resolves once the child has started (see the report).
    const child = service.child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(service.logs.join('\n')).not.toMatch(/"level":(50|60)/);
  });

  it('refuses to start with a configuration error that names the variable', async () => {
    await expect(
      spawnService({ service: 'auth', env: { MONGO_URL: 'nope' }, startTimeoutMs: 10_000 }),
    ).rejects.toThrow(/MONGO_URL/);
  });
});
