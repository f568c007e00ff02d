import request from 'supertest';
import { SignJWT } from 'jose';
import {
  ACCESS_COOKIE,
  createAccessTokenVerifier,
  createIdentitySigner,
  generatePemKeyPair,
  importSigningKey,
} from '@cohort/common';
import { startTestMongo, type TestMongo } from '@cohort/testkit';
import { cookieValue, GOOD_PASSWORD, newUser, startTestAuth, type TestAuth } from './support';

describe('auth security boundaries', () => {
  let mongo: TestMongo;
  let auth: TestAuth;
  let userId: string;
  let accessToken: string;

  beforeAll(async () => {
    mongo = await startTestMongo('auth_security');
    auth = await startTestAuth({ mongoUrl: mongo.url, env: { ALLOWED_ORIGINS: 'https://app.example.com' } });
    const res = await request(auth.url).post('/api/auth/register').send(newUser()).expect(201);
    userId = res.body.user.id;
    accessToken = cookieValue(res, ACCESS_COOKIE);
  });
  afterAll(async () => {
    await auth?.close();
    await mongo?.close();
  });

  // Logout is left out here: without an identity it falls back to the refresh cookie (sessions.test.ts).
  const protectedRoutes: [string, string][] = [
    ['GET', '/api/auth/me'],
    ['GET', '/api/users/search?q=a'],
    ['GET', '/api/users?ids=0123456789abcdef01234567'],
  ];
  const call = (method: string, path: string) =>
    method === 'GET' ? request(auth.url).get(path) : request(auth.url).post(path);

  describe('forwarded identity', () => {
    it.each(protectedRoutes)('%s %s answers 401 without x-cohort-identity', async (method, path) => {
      const res = await call(method, path);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    });

    it.each(protectedRoutes)('%s %s answers 401 to a client-forged x-user-id', async (method, path) => {
      expect((await call(method, path).set('x-user-id', userId)).status).toBe(401);
    });

    it.each(protectedRoutes)(
      '%s %s answers 401 to the access cookie or a bearer token alone',
      async (method, path) => {
        expect((await call(method, path).set('Cookie', `${ACCESS_COOKIE}=${accessToken}`)).status).toBe(401);
        expect((await call(method, path).set('Authorization', `Bearer ${accessToken}`)).status).toBe(401);
      },
    );

    it.each([...protectedRoutes, ['POST', '/api/auth/logout']])(
      '%s %s answers 401 to an identity signed with a key auth does not trust',
      async (method, path) => {
        const rogue = await importSigningKey(generatePemKeyPair('EdDSA').privateKeyPem, 'EdDSA');
        const claims = await createAccessTokenVerifier({ jwks: auth.keys.accessJwks })(accessToken);
        const forged = await createIdentitySigner(rogue, 'gateway').sign(claims);
        expect((await call(method, path).set('x-cohort-identity', forged)).status).toBe(401);
      },
    );

    it('refuses the access JWT itself presented as the identity assertion', async () => {
      expect((await request(auth.url).get('/api/auth/me').set('x-cohort-identity', accessToken)).status).toBe(
        401,
      );
    });

    it('refuses an identity assertion with alg none', async () => {
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'cohort-identity+jwt' })).toString(
        'base64url',
      );
      const now = Math.floor(Date.now() / 1000);
      const payload = Buffer.from(
        JSON.stringify({
          sub: userId,
          sid: 'x',
          tid: 'y',
          tex: now + 900,
          iss: 'gateway',
          aud: 'cohort-internal',
          iat: now,
          exp: now + 60,
        }),
      ).toString('base64url');
      expect(
        (await request(auth.url).get('/api/auth/me').set('x-cohort-identity', `${header}.${payload}.`))
          .status,
      ).toBe(401);
    });

    it("accepts the gateway's assertion and the realtime replica's alike", async () => {
      const claims = await createAccessTokenVerifier({ jwks: auth.keys.accessJwks })(accessToken);
      const realtime = createIdentitySigner(
        await importSigningKey(auth.keys.realtimeIdentity.privateKeyPem, 'EdDSA'),
        'realtime',
      );
      const res = await request(auth.url)
        .get('/api/auth/me')
        .set('x-cohort-identity', await realtime.sign(claims));
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(userId);
    });
  });

  describe('CSRF origin check', () => {
    it('answers 403 csrf to a login from a foreign Origin', async () => {
      const body = newUser();
      await request(auth.url).post('/api/auth/register').send(body).expect(201);
      const res = await request(auth.url)
        .post('/api/auth/login')
        .set('Origin', 'https://evil.example')
        .send({ email: body.email, password: GOOD_PASSWORD });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('csrf');
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('answers 403 csrf to a cookie-carrying logout from a foreign Origin', async () => {
      const res = await request(auth.url)
        .post('/api/auth/logout')
        .set('Origin', 'https://evil.example')
        .set('Cookie', `${ACCESS_COOKIE}=${accessToken}`)
        .set('x-cohort-identity', await auth.identityFor(accessToken));
      expect(res.status).toBe(403);
    });

    it('answers 403 csrf to a refresh from a foreign Origin', async () => {
      expect(
        (await request(auth.url).post('/api/auth/refresh').set('Origin', 'https://evil.example')).status,
      ).toBe(403);
    });

    it("accepts the product's own origin as the edge forwards it", async () => {
      const res = await request(auth.url)
        .post('/api/auth/register')
        .set('Origin', 'https://chat.example.com')
        .set('X-Forwarded-Host', 'chat.example.com')
        .set('X-Forwarded-Proto', 'https')
        .send(newUser());
      expect(res.status).toBe(201);
    });

    it('accepts an origin listed in ALLOWED_ORIGINS', async () => {
      const res = await request(auth.url)
        .post('/api/auth/register')
        .set('Origin', 'https://app.example.com')
        .send(newUser());
      expect(res.status).toBe(201);
    });
  });

  describe('GET /api/auth/jwks.json', () => {
    it('publishes the ES256 public key, cacheable, without any private part', async () => {
      const res = await request(auth.url).get('/api/auth/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
      expect(res.body.keys).toHaveLength(1);
      expect(res.body.keys[0]).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
        kid: expect.any(String),
      });
      expect(res.body.keys[0]).not.toHaveProperty('d');
    });

    it('verifies a real access token and no token signed by another key', async () => {
      const verify = createAccessTokenVerifier({ jwks: new URL('/api/auth/jwks.json', auth.url) });
      await expect(verify(accessToken)).resolves.toMatchObject({ userId });
      const other = await importSigningKey(generatePemKeyPair('ES256').privateKeyPem, 'ES256');
      const forged = await new SignJWT({ sid: '0123456789abcdef01234567' })
        .setProtectedHeader({ alg: 'ES256', kid: other.kid })
        .setSubject(userId)
        .setJti('x')
        .setIssuer('cohort-auth')
        .setAudience('cohort')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(other.privateKey);
      await expect(verify(forged)).rejects.toMatchObject({ status: 401 });
    });
  });

  describe('HTTP hygiene', () => {
    it('sends nosniff and no X-Powered-By, and echoes x-request-id', async () => {
      const res = await request(auth.url).get('/api/auth/jwks.json').set('x-request-id', 'req-123');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-request-id']).toBe('req-123');
    });

    it('answers unknown /api paths with a JSON 404', async () => {
      const res = await request(auth.url).get('/api/auth/nope');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    });

    it('serves /healthz, /readyz and /metrics', async () => {
      expect((await request(auth.url).get('/healthz')).body).toMatchObject({ status: 'ok', service: 'auth' });
      expect((await request(auth.url).get('/readyz')).body).toMatchObject({
        status: 'ready',
        checks: { mongo: 'ok' },
      });
      const metrics = await request(auth.url).get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/http_request_duration_seconds/);
    });
  });
});
