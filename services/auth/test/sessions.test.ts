import request from 'supertest';
import { decodeJwt } from 'jose';
import {
  ACCESS_COOKIE,
  createAccessTokenVerifier,
  REFRESH_COOKIE,
  type AccessTokenVerifier,
} from '@cohort/common';
import { generateTestKeys, startTestMongo, type TestKeys, type TestMongo } from '@cohort/testkit';
import { cookieValue, GOOD_PASSWORD, newUser, setCookies, startTestAuth, type TestAuth } from './support';

interface Session {
  userId: string;
  sessionId: string;
  access: string;
  refresh: string;
}

function sessionOf(res: request.Response): Session {
  const access = cookieValue(res, ACCESS_COOKIE);
  const claims = decodeJwt(access);
  return {
    userId: String(claims.sub),
    sessionId: String(claims.sid),
    access,
    refresh: cookieValue(res, REFRESH_COOKIE),
  };
}

describe('sessions: me, refresh, logout', () => {
  let mongo: TestMongo;
  let keys: TestKeys;
  let auth: TestAuth;
  /** The same instance with no grace for a just-rotated token (every reuse revokes). */
  let strict: TestAuth;
  /** How the gateway and realtime check access tokens: auth's JWKS plus the shared denylist. */
  let gatewayVerify: AccessTokenVerifier;
  let strictGatewayVerify: AccessTokenVerifier;

  beforeAll(async () => {
    [mongo, keys] = await Promise.all([startTestMongo('auth_sessions'), generateTestKeys()]);
    auth = await startTestAuth({ mongoUrl: mongo.url, keys });
    strict = await startTestAuth({ mongoUrl: mongo.url, keys, env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
    gatewayVerify = createAccessTokenVerifier({
      jwks: new URL('/api/auth/jwks.json', auth.url),
      denylist: auth.denylist,
    });
    strictGatewayVerify = createAccessTokenVerifier({
      jwks: new URL('/api/auth/jwks.json', strict.url),
      denylist: strict.denylist,
    });
  });
  afterAll(async () => {
    await auth?.close();
    await strict?.close();
    await mongo?.close();
  });

  async function signIn(target: TestAuth = auth): Promise<Session> {
    const body = newUser();
    await request(target.url).post('/api/auth/register').send(body).expect(201);
    return sessionOf(
      await request(target.url)
        .post('/api/auth/login')
        .send({ email: body.email, password: GOOD_PASSWORD })
        .expect(200),
    );
  }

  const refresh = (target: TestAuth, refreshToken?: string) => {
    const req = request(target.url).post('/api/auth/refresh');
    return refreshToken === undefined ? req : req.set('Cookie', `${REFRESH_COOKIE}=${refreshToken}`);
  };
  const me = async (target: TestAuth, access: string) =>
    request(target.url)
      .get('/api/auth/me')
      .set('x-cohort-identity', await target.identityFor(access));

  describe('GET /api/auth/me', () => {
    it('returns the signed-in user', async () => {
      const session = await signIn();
      const res = await me(auth, session.access);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        user: {
          id: session.userId,
          email: expect.any(String),
          fullName: expect.any(Object),
          createdAt: expect.any(String),
        },
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|\$2[aby]\$/i);
    });
  });

  describe('POST /api/auth/refresh', () => {
    it('rotates both cookies and keeps the same session', async () => {
      const session = await signIn();
      const res = await refresh(auth, session.refresh);
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(session.userId);
      const next = sessionOf(res);
      expect(next.refresh).not.toBe(session.refresh);
      expect(next.access).not.toBe(session.access);
      expect(next.sessionId).toBe(session.sessionId);
      expect(decodeJwt(next.access).jti).not.toBe(decodeJwt(session.access).jti);
      expect(setCookies(res).get(REFRESH_COOKIE)?.attributes).toMatchObject({
        httponly: '',
        samesite: 'Strict',
        path: '/api/auth',
      });
      await expect(gatewayVerify(next.access)).resolves.toMatchObject({ userId: session.userId });
      expect((await me(auth, next.access)).status).toBe(200);
    });

    it('keeps rotating: each new refresh token works once', async () => {
      let token = (await signIn()).refresh;
      for (let i = 0; i < 3; i += 1) {
        const res = await refresh(auth, token).expect(200);
        token = cookieValue(res, REFRESH_COOKIE);
      }
    });

    it('answers 401 without a refresh cookie', async () => {
      const res = await refresh(auth);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_refresh_token');
    });

    it.each([
      ['a malformed token', 'not-a-token'],
      ['an unknown well-formed token', 'A'.repeat(43)],
    ])('answers 401 for %s and clears the cookies', async (_case, token) => {
      const res = await refresh(auth, token);
      expect(res.status).toBe(401);
      const cleared = setCookies(res);
      expect(cleared.get(REFRESH_COOKIE)?.value).toBe('');
      expect(cleared.get(ACCESS_COOKIE)?.value).toBe('');
    });

    it('lets exactly one of several concurrent refreshes with one token win, without ending the session', async () => {
      const session = await signIn();
      const results = await Promise.all(Array.from({ length: 5 }, () => refresh(auth, session.refresh)));
      const winners = results.filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.status === 401)).toHaveLength(4);
      // The losers presented the token rotated a moment ago: a second tab, not a thief.
      const next = sessionOf(winners[0]!);
      expect((await refresh(auth, next.refresh)).status).toBe(200);
      expect(auth.sessionEvents.some((e) => e.sessionId === session.sessionId)).toBe(false);
    });

    it('revokes the whole session when a token rotated away earlier is presented again', async () => {
      const session = await signIn();
      const second = sessionOf(await refresh(auth, session.refresh).expect(200));
      const third = sessionOf(await refresh(auth, second.refresh).expect(200));

      const reuse = await refresh(auth, session.refresh);
      expect(reuse.status).toBe(401);

      await expect(auth.sessionEvent((e) => e.sessionId === session.sessionId)).resolves.toEqual({
        type: 'session:revoked',
        sessionId: session.sessionId,
        userId: session.userId,
      });
      // Every token of the session is dead: the current refresh token and the access tokens.
      expect((await refresh(auth, third.refresh)).status).toBe(401);
      await expect(gatewayVerify(third.access)).rejects.toMatchObject({ status: 401 });
      await expect(gatewayVerify(session.access)).rejects.toMatchObject({ status: 401 });
    });

    it('revokes the session when the just-rotated token comes back after the grace period', async () => {
      const session = await signIn(strict);
      const next = sessionOf(await refresh(strict, session.refresh).expect(200));
      expect((await refresh(strict, session.refresh)).status).toBe(401);
      await strict.sessionEvent((e) => e.sessionId === session.sessionId);
      expect((await refresh(strict, next.refresh)).status).toBe(401);
      await expect(strictGatewayVerify(next.access)).rejects.toMatchObject({ status: 401 });
      expect((await me(strict, next.access)).status).toBe(401);
    });

    it("leaves the user's other sessions alone when one is revoked for reuse", async () => {
      const body = newUser();
      await request(auth.url).post('/api/auth/register').send(body).expect(201);
      const login = () =>
        request(auth.url)
          .post('/api/auth/login')
          .send({ email: body.email, password: GOOD_PASSWORD })
          .expect(200);
      const stolen = sessionOf(await login());
      const other = sessionOf(await login());
      const rotated = sessionOf(await refresh(auth, stolen.refresh).expect(200));
      await refresh(auth, rotated.refresh).expect(200);
      expect((await refresh(auth, stolen.refresh)).status).toBe(401);
      await auth.sessionEvent((e) => e.sessionId === stolen.sessionId);
      expect((await refresh(auth, other.refresh)).status).toBe(200);
      await expect(gatewayVerify(other.access)).resolves.toMatchObject({ sessionId: other.sessionId });
    });
  });

  describe('POST /api/auth/logout', () => {
    it('answers 204 and clears both cookies with the attributes they were set with', async () => {
      const session = await signIn();
      const res = await request(auth.url)
        .post('/api/auth/logout')
        .set('x-cohort-identity', await auth.identityFor(session.access));
      expect(res.status).toBe(204);
      const cleared = setCookies(res);
      const access = cleared.get(ACCESS_COOKIE)!;
      const refreshCookie = cleared.get(REFRESH_COOKIE)!;
      expect(access.value).toBe('');
      expect(refreshCookie.value).toBe('');
      expect(access.attributes).toMatchObject({ httponly: '', samesite: 'Lax', path: '/' });
      expect(refreshCookie.attributes).toMatchObject({ httponly: '', samesite: 'Strict', path: '/api/auth' });
      for (const cookie of [access, refreshCookie]) {
        expect(new Date(cookie.attributes.expires!).getTime()).toBeLessThan(Date.now());
        expect(cookie.attributes).not.toHaveProperty('secure');
      }
    });

    it('makes the old access token refused everywhere and the refresh token useless', async () => {
      const session = await signIn();
      await expect(gatewayVerify(session.access)).resolves.toMatchObject({ userId: session.userId });
      const identity = await auth.identityFor(session.access);
      await request(auth.url).post('/api/auth/logout').set('x-cohort-identity', identity).expect(204);

      await expect(gatewayVerify(session.access)).rejects.toMatchObject({ status: 401 });
      expect((await refresh(auth, session.refresh)).status).toBe(401);
      // Even a still-valid forwarded assertion for that token is refused by auth itself.
      expect((await request(auth.url).get('/api/auth/me').set('x-cohort-identity', identity)).status).toBe(
        401,
      );
    });

    it("publishes session:revoked so realtime disconnects the session's sockets", async () => {
      const session = await signIn();
      await request(auth.url)
        .post('/api/auth/logout')
        .set('x-cohort-identity', await auth.identityFor(session.access))
        .expect(204);
      await expect(auth.sessionEvent((e) => e.sessionId === session.sessionId)).resolves.toEqual({
        type: 'session:revoked',
        sessionId: session.sessionId,
        userId: session.userId,
      });
    });

    it('logs out with the refresh cookie alone (the gateway forwards no identity once the access token expired)', async () => {
      const session = await signIn();
      const res = await request(auth.url)
        .post('/api/auth/logout')
        .set('Cookie', `${REFRESH_COOKIE}=${session.refresh}`);
      expect(res.status).toBe(204);
      expect(setCookies(res).get(REFRESH_COOKIE)?.value).toBe('');
      await expect(auth.sessionEvent((e) => e.sessionId === session.sessionId)).resolves.toMatchObject({
        type: 'session:revoked',
      });
      expect((await refresh(auth, session.refresh)).status).toBe(401);
      await expect(gatewayVerify(session.access)).rejects.toMatchObject({ status: 401 });
    });

    it('answers 204 and clears the cookies when there is nothing to revoke', async () => {
      const res = await request(auth.url).post('/api/auth/logout');
      expect(res.status).toBe(204);
      expect(setCookies(res).get(ACCESS_COOKIE)?.value).toBe('');
    });

    it('revokes nothing for a client-forged x-user-id', async () => {
      const session = await signIn();
      await request(auth.url).post('/api/auth/logout').set('x-user-id', session.userId).expect(204);
      await expect(gatewayVerify(session.access)).resolves.toMatchObject({ userId: session.userId });
      expect((await refresh(auth, session.refresh)).status).toBe(200);
    });

    it('answers 401 to a logout whose forwarded identity is invalid, and revokes nothing', async () => {
      const session = await signIn();
      const res = await request(auth.url)
        .post('/api/auth/logout')
        .set('x-cohort-identity', 'not-a-valid-assertion')
        .set('Cookie', `${REFRESH_COOKIE}=${session.refresh}`);
      expect(res.status).toBe(401);
      expect((await refresh(auth, session.refresh)).status).toBe(200);
    });

    it('can be repeated: a second logout with the same identity still answers 204', async () => {
      const session = await signIn();
      const identity = await auth.identityFor(session.access);
      await request(auth.url).post('/api/auth/logout').set('x-cohort-identity', identity).expect(204);
      await request(auth.url).post('/api/auth/logout').set('x-cohort-identity', identity).expect(204);
    });
  });
});
