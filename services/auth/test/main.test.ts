import {
  generateTestKeys,
  spawnService,
  waitFor,
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
    const port = service.port;
    // The log pipe may trail the readiness probe by a moment.
    const listening = await waitFor(() => {
      const line = service!.logs
        .map((l) => JSON.parse(l) as { msg?: string; port?: number })
        .find((l) => l.msg === 'listening');
      if (!line) throw new Error('no listening line yet');
      return line;
    }, 5000);
    expect(listening?.port).toBe(port);
    expect((await request(service.url).get('/healthz')).status).toBe(200);
    const body = newUser();
    await request(service.url).post('/api/auth/register').send(body).expect(201);
    await request(service.url)
      .post('/api/auth/login')
      .send({ email: body.email, password: GOOD_PASSWORD })
      .expect(200);

    await service.stop();
    expect(service.child.exitCode).toBe(0);
    expect(service.logs.join('\n')).not.toMatch(/"level":(50|60)/);
  });

  it('refuses to start with a configuration error that names the variable', async () => {
    await expect(
      spawnService({ service: 'auth', env: { MONGO_URL: 'nope' }, startTimeoutMs: 10_000 }),
    ).rejects.toThrow(/MONGO_URL/);
  });
});
