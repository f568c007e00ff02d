import request from 'supertest';
import { generateTestKeys, type TestKeys } from '@cohort/testkit';
import { startProbe, startTestGateway, type Probe, type TestGateway } from './support';

/**
 * What the gateway tells the services about the client's address (docs/security.md): rate limits key on it, so a
 * client must not be able to choose it by sending X-Forwarded-For or X-Real-IP.
 */
describe('gateway: the client address it forwards', () => {
  let keys: TestKeys;
  let auth: Probe;
  let chatApi: Probe;
  beforeAll(async () => {
    keys = await generateTestKeys();
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
  });
  afterAll(async () => {
    await Promise.all([auth.close(), chatApi.close()]);
  });

  describe('as the edge (embedded mode: TRUST_PROXY unset)', () => {
    let gateway: TestGateway;
    beforeAll(async () => {
      gateway = await startTestGateway({ keys, authUrl: auth.url, chatApiUrl: chatApi.url });
    });
    afterAll(() => gateway.close());

    it('overwrites a client-sent X-Forwarded-For and X-Real-IP with the address of the connection', async () => {
      await request(gateway.url)
        .post('/api/auth/login')
        .set('X-Forwarded-For', '203.0.113.9, 198.51.100.1')
        .set('X-Real-IP', '203.0.113.9')
        .send({})
        .expect(200);
      const seen = auth.last('/api/auth/login');
      expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen?.headers['x-real-ip']).toBe('127.0.0.1');
    });

    it('sets them when the client sent none', async () => {
      await request(gateway.url).post('/api/auth/register').send({}).expect(200);
      const seen = auth.last('/api/auth/register');
      expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen?.headers['x-real-ip']).toBe('127.0.0.1');
    });
  });

  describe('behind a proxy (the cluster: TRUST_PROXY=true)', () => {
    let gateway: TestGateway;
    beforeAll(async () => {
      gateway = await startTestGateway({
        keys,
        authUrl: auth.url,
        chatApiUrl: chatApi.url,
        env: { TRUST_PROXY: 'true' },
      });
    });
    afterAll(() => gateway.close());

    it('forwards only the address the proxy wrote last, never what the client prepended', async () => {
      await request(gateway.url)
        .post('/api/auth/login')
        .set('X-Forwarded-For', '10.9.9.9, 203.0.113.50')
        .set('X-Real-IP', '10.9.9.9')
        .send({})
        .expect(200);
      const seen = auth.last('/api/auth/login');
      expect(seen?.headers['x-forwarded-for']).toBe('203.0.113.50');
      expect(seen?.headers['x-real-ip']).toBe('203.0.113.50');
    });

    it('falls back to the connection when what the proxy wrote is not an address', async () => {
      await request(gateway.url)
        .post('/api/auth/login')
        .set('X-Forwarded-For', 'evil, not-an-ip')
        .send({})
        .expect(200);
      expect(auth.last('/api/auth/login')?.headers['x-forwarded-for']).toBe('127.0.0.1');
    });
  });
});
