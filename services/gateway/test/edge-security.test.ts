import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { generateTestKeys, type TestKeys } from '@cohort/testkit';
import { accessToken, startProbe, startTestGateway, type Probe, type TestGateway } from './support';

const ALLOWED = 'https://app.example.com';

describe('gateway: browser-facing security', () => {
  let keys: TestKeys;
  let auth: Probe;
  let chatApi: Probe;
  let gateway: TestGateway;
  let token: string;
  let webRoot: string;

  beforeAll(async () => {
    keys = await generateTestKeys();
    webRoot = mkdtempSync(join(tmpdir(), 'gateway-web-'));
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>cohort</title><div id="root"></div>');
    writeFileSync(join(webRoot, 'assets', 'app-1a2b3c.js'), 'console.log("app")');
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
    gateway = await startTestGateway({
      keys,
      authUrl: auth.url,
      chatApiUrl: chatApi.url,
      env: { ALLOWED_ORIGINS: ALLOWED, WEB_ROOT: webRoot },
    });
    token = await accessToken(keys);
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([auth.close(), chatApi.close()]);
    rmSync(webRoot, { recursive: true, force: true });
  });

  const api = () => request(gateway.url);
  const host = () => `127.0.0.1:${gateway.port}`;

  describe('CSRF (cookie-authenticated unsafe methods)', () => {
    const post = (origin?: string) => {
      const r = api().post('/api/chats').set('Cookie', `token=${token}`).send({ type: 'group', title: 't' });
      return origin ? r.set('Origin', origin) : r;
    };

    it('refuses a foreign Origin with 403 csrf and forwards nothing', async () => {
      const before = chatApi.seen.length;
      const res = await post('https://evil.example');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('csrf');
      expect(chatApi.seen.length).toBe(before);
    });

    it('refuses a foreign Origin on public auth routes too (login CSRF)', async () => {
      const res = await api()
        .post('/api/auth/login')
        .set('Origin', 'https://evil.example')
        .send({ email: 'a@b.co', password: 'x' });
      expect(res.status).toBe(403);
    });

    it('allows the product’s own origin (scheme and Host as addressed)', async () => {
      expect((await post(`http://${host()}`)).status).toBe(200);
    });

    it('allows the own origin as forwarded by the edge (X-Forwarded-Proto/Host)', async () => {
      const res = await post('https://chat.example.org')
        .set('X-Forwarded-Proto', 'https')
        .set('X-Forwarded-Host', 'chat.example.org');
      expect(res.status).toBe(200);
    });

    it('allows an origin listed in ALLOWED_ORIGINS', async () => {
      expect((await post(ALLOWED)).status).toBe(200);
    });

    it('allows requests without an Origin (same-origin navigation, non-browser clients)', async () => {
      expect((await post()).status).toBe(200);
    });

    it('does not apply to bearer-only requests (not sent automatically by browsers)', async () => {
      const res = await api()
        .post('/api/chats')
        .set('Authorization', `Bearer ${token}`)
        .set('Origin', 'https://evil.example')
        .send({});
      expect(res.status).toBe(200);
    });
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin with credentials allowed', async () => {
      const res = await api()
        .options('/api/chats')
        .set('Origin', ALLOWED)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toContain('POST');
      expect(res.headers['access-control-allow-headers']).toMatch(/content-type/i);
    });

    it('gives a foreign origin no CORS grant', async () => {
      const res = await api()
        .options('/api/chats')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('exposes x-request-id to allowed origins on actual responses', async () => {
      const res = await api()
        .get('/api/chats')
        .set('Origin', ALLOWED)
        .set('Authorization', `Bearer ${token}`);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(res.headers['access-control-expose-headers']).toMatch(/x-request-id/i);
    });
  });

  describe('security headers', () => {
    it.each(['/api/chats', '/api/nowhere', '/healthz', '/'])('are on every response (%s)', async (path) => {
      const res = await api().get(path).set('Authorization', `Bearer ${token}`);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toBeDefined();
      expect(res.headers['strict-transport-security']).toBeUndefined();
    });

    it('sends a CSP that fits the SPA: own scripts only, API and websocket to this origin, data: images', async () => {
      const res = await api().get('/');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).toContain(`connect-src 'self' ws://${host()} wss://${host()}`);
      expect(csp).toContain("img-src 'self' data:");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
    });

    it('does not echo a malformed Host into the CSP', async () => {
      const res = await api().get('/healthz').set('X-Forwarded-Host', "evil; script-src 'unsafe-inline'");
      const connectSrc = /connect-src([^;]*)/.exec(String(res.headers['content-security-policy']))?.[1];
      expect(connectSrc?.trim()).toBe("'self'");
    });

    it('sends HSTS only in production', async () => {
      const prod = await startTestGateway({
        keys,
        authUrl: auth.url,
        chatApiUrl: chatApi.url,
        env: { NODE_ENV: 'production' },
      });
      try {
        const res = await request(prod.url).get('/healthz');
        expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      } finally {
        await prod.close();
      }
    });
  });

  describe('the web client (WEB_ROOT)', () => {
    it('serves index.html at / without caching it', async () => {
      const res = await api().get('/').set('Accept', 'text/html');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<div id="root">');
      expect(res.headers['cache-control']).toBe('no-cache');
    });

    it('falls back to index.html for client-side routes', async () => {
      const res = await api().get('/chats/665f1c2b9a1e4b3c2d1f0a9e').set('Accept', 'text/html,*/*');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<div id="root">');
    });

    it('serves hashed assets as immutable', async () => {
      const res = await api().get('/assets/app-1a2b3c.js');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/javascript/);
      expect(res.headers['cache-control']).toContain('immutable');
    });

    it('never falls back for unknown /api paths: JSON 404 in the error shape', async () => {
      const res = await api().get('/api/nope').set('Accept', 'text/html');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    });

    it('does not serve /socket.io from the web client when no realtime is configured', async () => {
      const res = await api().get('/socket.io/?EIO=4&transport=polling').set('Accept', 'text/html');
      expect(res.status).toBe(404);
    });
  });
});
