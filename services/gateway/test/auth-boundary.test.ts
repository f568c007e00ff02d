import request from 'supertest';
import {
  createIdentityVerifier,
  createMemoryDenylist,
  IDENTITY_HEADER,
  type TokenDenylist,
} from '@cohort/common';
import { generateTestKeys, type TestKeys } from '@cohort/testkit';
import {
  accessToken,
  hmacWithPublicKey,
  otherAccessKey,
  startProbe,
  startTestGateway,
  unsignedToken,
  type Probe,
  type TestGateway,
} from './support';

const USER = '665f1c2b9a1e4b3c2d1f0a9e';

describe('gateway: who gets through, and as whom', () => {
  let keys: TestKeys;
  let auth: Probe;
  let chatApi: Probe;
  let gateway: TestGateway;
  let denylist: TokenDenylist;
  let verifyIdentity: ReturnType<typeof createIdentityVerifier>;

  beforeAll(async () => {
    keys = await generateTestKeys();
    verifyIdentity = createIdentityVerifier(keys.internalJwks);
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
    denylist = createMemoryDenylist();
    gateway = await startTestGateway({ keys, authUrl: auth.url, chatApiUrl: chatApi.url, denylist });
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([auth.close(), chatApi.close()]);
  });

  const api = () => request(gateway.url);

  describe('public routes', () => {
    it.each([
      ['post', '/api/auth/register'],
      ['post', '/api/auth/login'],
      ['post', '/api/auth/refresh'],
      ['get', '/api/auth/jwks.json'],
    ] as const)('forwards %s %s without a session and without any identity', async (method, path) => {
      const res = await api()[method](path).set('X-User-Id', USER).set('X-Cohort-Identity', 'forged').send();
      expect(res.status).toBe(200);
      const seen = auth.last(path);
      expect(seen?.method).toBe(method.toUpperCase());
      expect(seen?.headers[IDENTITY_HEADER]).toBeUndefined();
      expect(seen?.headers['x-user-id']).toBeUndefined();
    });

    it('forwards the path and query unchanged and streams the body as sent', async () => {
      const body = '{"email":"a@b.co","password":"correct horse"}';
      const res = await api()
        .post('/api/auth/login?x=1&y=%20z')
        .set('Content-Type', 'application/json')
        .send(body);
      expect(res.status).toBe(200);
      expect(auth.last('/api/auth/login')).toMatchObject({ url: '/api/auth/login?x=1&y=%20z', body });
    });
  });

  describe('protected routes', () => {
    it.each([
      '/api/chats',
      '/api/chats/665f1c2b9a1e4b3c2d1f0a9e/messages',
      '/api/auth/me',
      '/api/users/search?q=a',
    ])('refuses %s without a token (401 unauthorized) and never calls the upstream', async (path) => {
      const before = auth.seen.length + chatApi.seen.length;
      const res = await api().get(path);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      expect(auth.seen.length + chatApi.seen.length).toBe(before);
    });

    it('forwards a bearer-authenticated request with an identity the upstream can verify', async () => {
      const token = await accessToken(keys, { sub: USER, sid: 'session-1', jti: 'token-1' });
      const res = await api().get('/api/chats').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      const identity = await verifyIdentity(chatApi.last('/api/chats')?.headers[IDENTITY_HEADER] as string);
      expect(identity).toMatchObject({
        userId: USER,
        sessionId: 'session-1',
        tokenId: 'token-1',
        forwardedBy: 'gateway',
      });
    });

    it('accepts the access token from the `token` cookie', async () => {
      const token = await accessToken(keys, { sub: USER });
      const res = await api().get('/api/users/search?q=ann').set('Cookie', `other=1; token=${token}`);
      expect(res.status).toBe(200);
      const seen = auth.last('/api/users/search');
      expect(seen?.url).toBe('/api/users/search?q=ann');
      expect((await verifyIdentity(seen?.headers[IDENTITY_HEADER] as string)).userId).toBe(USER);
    });

    it('replaces a client-sent identity with the verified one and strips x-user-id and other internal headers', async () => {
      const token = await accessToken(keys, { sub: USER });
      const res = await api()
        .get('/api/chats')
        .set('Authorization', `Bearer ${token}`)
        .set('X-User-Id', '000000000000000000000000')
        .set('X-Cohort-Identity', 'forged.assertion.value')
        .set('X-Cohort-Anything', 'x')
        .set('X-Internal-Token', 'x')
        .set('X-Auth-User', 'admin')
        .set('X-Forwarded-User', 'admin');
      expect(res.status).toBe(200);
      const headers = chatApi.last('/api/chats')?.headers ?? {};
      for (const name of [
        'x-user-id',
        'x-cohort-anything',
        'x-internal-token',
        'x-auth-user',
        'x-forwarded-user',
      ]) {
        expect(headers[name]).toBeUndefined();
      }
      expect((await verifyIdentity(headers[IDENTITY_HEADER] as string)).userId).toBe(USER);
    });

    it('refuses a spoofed x-user-id or x-cohort-identity alone (no token): 401', async () => {
      const res = await api().get('/api/chats').set('X-User-Id', USER).set('X-Cohort-Identity', 'forged');
      expect(res.status).toBe(401);
    });
  });

  describe('tokens that must be refused (401)', () => {
    const expectRefused = async (token: string) => {
      const before = chatApi.seen.length;
      const res = await api().get('/api/chats').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(chatApi.seen.length).toBe(before);
    };

    it('an expired token', async () => expectRefused(await accessToken(keys, { expiresIn: -60 })));
    it('a token signed by another key under the real kid (forged)', async () =>
      expectRefused(await accessToken(keys, { key: otherAccessKey() })));
    it('an unsigned token (alg none)', async () => expectRefused(unsignedToken(keys)));
    it('an HS256 token keyed with the public key (algorithm confusion)', async () =>
      expectRefused(await hmacWithPublicKey(keys)));
    it('a token with an unknown kid', async () =>
      expectRefused(await accessToken(keys, { kid: 'unknown-kid' })));
    it('a token for another audience', async () =>
      expectRefused(await accessToken(keys, { audience: 'someone-else' })));
    it('a token from another issuer', async () => expectRefused(await accessToken(keys, { issuer: 'evil' })));
    it('a garbage token', async () => expectRefused('not-a-jwt'));
    it('a token whose jti was revoked', async () => {
      const token = await accessToken(keys, { jti: 'revoked-jti' });
      await denylist.revoke('revoked-jti', Math.floor(Date.now() / 1000) + 900);
      await expectRefused(token);
    });
    it('a token whose session was revoked', async () => {
      const token = await accessToken(keys, { sid: 'revoked-sid' });
      await denylist.revoke('revoked-sid', Math.floor(Date.now() / 1000) + 900);
      await expectRefused(token);
    });
  });

  describe('logout', () => {
    it('forwards the identity when the access token is valid', async () => {
      const token = await accessToken(keys, { sub: USER });
      const res = await api().post('/api/auth/logout').set('Cookie', `token=${token}; refresh_token=r`);
      expect(res.status).toBe(200);
      expect(
        (await verifyIdentity(auth.last('/api/auth/logout')?.headers[IDENTITY_HEADER] as string)).userId,
      ).toBe(USER);
    });

    it.each([
      ['no token', ''],
      ['an expired token', 'expired'],
    ])('still reaches auth with %s, without an identity, so cookies can be cleared', async (_label, kind) => {
      const cookie =
        kind === 'expired'
          ? `token=${await accessToken(keys, { expiresIn: -60 })}; refresh_token=r`
          : 'refresh_token=r';
      const res = await api()
        .post('/api/auth/logout')
        .set('Cookie', cookie)
        .set('X-Cohort-Identity', 'forged');
      expect(res.status).toBe(200);
      const seen = auth.last('/api/auth/logout');
      expect(seen?.headers[IDENTITY_HEADER]).toBeUndefined();
      expect(seen?.headers.cookie).toContain('refresh_token=r');
    });
  });

  describe('paths that are never routed', () => {
    it.each(['/internal/sessions', '/api/internal/x', '/api/unknown', '/api'])(
      'answers %s with a JSON 404',
      async (path) => {
        const before = auth.seen.length + chatApi.seen.length;
        const token = await accessToken(keys);
        const res = await api().get(path).set('Authorization', `Bearer ${token}`);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/application\/json/);
        expect(res.body.error.code).toBe('not_found');
        expect(auth.seen.length + chatApi.seen.length).toBe(before);
      },
    );

    it.each(['/api/chats/../../internal/x', '/api/chats/%2e%2e/%2E%2E/internal/x', '/api/auth/login/..'])(
      'refuses dot segments in %s (400) before anything is forwarded',
      async (path) => {
        const before = auth.seen.length + chatApi.seen.length;
        const res = await api().post(path).send({});
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_path');
        expect(auth.seen.length + chatApi.seen.length).toBe(before);
      },
    );
  });
});
