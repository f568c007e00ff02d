import request from 'supertest';
import { ACCESS_COOKIE, REFRESH_COOKIE } from '@cohort/common';
import { startTestMongo, type TestMongo } from '@cohort/testkit';
import { GOOD_PASSWORD, newUser, setCookies, startTestAuth, type TestAuth } from './support';

describe('POST /api/auth/register', () => {
  let mongo: TestMongo;
  let auth: TestAuth;
  beforeAll(async () => {
    mongo = await startTestMongo('auth_register');
    auth = await startTestAuth({ mongoUrl: mongo.url });
  });
  afterAll(async () => {
    await auth?.close();
    await mongo?.close();
  });

  const register = (body: unknown) =>
    request(auth.url)
      .post('/api/auth/register')
      .send(body as object);

  it('creates the account and answers 201 with the public user and both session cookies', async () => {
    const body = newUser({ firstName: 'Ada', lastName: 'Lovelace' });
    const res = await register(body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      user: {
        id: expect.stringMatching(/^[0-9a-f]{24}$/),
        email: body.email,
        fullName: { firstName: 'Ada', lastName: 'Lovelace' },
        createdAt: expect.any(String),
      },
    });
    expect(new Date(res.body.user.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const cookies = setCookies(res);
    expect(cookies.get(ACCESS_COOKIE)?.value).toMatch(/^ey/);
    expect(cookies.get(REFRESH_COOKIE)?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('never returns the password or its hash', async () => {
    const res = await register(newUser());
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toMatch(/password|\$2[aby]\$/i);
  });

  it('trims and lower-cases the email', async () => {
    const res = await register(newUser({ email: '  Grace.Hopper@Example.COM ' }));
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe('grace.hopper@example.com');
  });

  it('answers 409 email_taken for an email already registered, whatever its case', async () => {
    expect((await register(newUser({ email: 'taken@example.com' }))).status).toBe(201);
    const res = await register(newUser({ email: 'TAKEN@example.com' }));
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: { code: 'email_taken', message: expect.any(String) } });
  });

  it('lets exactly one of several concurrent registrations of one email succeed', async () => {
    const email = `race-${Date.now()}@example.com`;
    const results = await Promise.all(Array.from({ length: 8 }, () => register(newUser({ email }))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    for (const res of results.filter((r) => r.status === 409))
      expect(res.body.error.code).toBe('email_taken');
  });

  it.each([
    ['a missing email', { password: GOOD_PASSWORD, fullName: { firstName: 'A', lastName: 'B' } }],
    ['an invalid email', { ...newUser(), email: 'not-an-email' }],
    ['an operator object as the email', { ...newUser(), email: { $gt: '' } }],
    ['an operator object as the password', { ...newUser(), password: { $ne: null } }],
    ['a number as the password', { ...newUser(), password: 12345678 }],
    ['a password of 7 bytes', { ...newUser(), password: 'Ab3$efg' }],
    ['a password of 73 bytes', { ...newUser(), password: 'x'.repeat(73) }],
    ['a password of 37 two-byte characters (74 bytes)', { ...newUser(), password: 'é'.repeat(37) }],
    ['a missing last name', { ...newUser(), fullName: { firstName: 'A' } }],
    ['a blank first name', { ...newUser(), fullName: { firstName: '   ', lastName: 'B' } }],
    ['an unknown field', { ...newUser(), isAdmin: true }],
    ['an array body', [newUser()]],
  ])('answers 400 validation_error for %s', async (_case, body) => {
    const res = await register(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('names the bcrypt limit when the password is longer than 72 bytes', async () => {
    const res = await register({ ...newUser(), password: 'é'.repeat(37) });
    expect(res.body.error.message).toMatch(/72 bytes/);
  });

  it.each([
    ['a NUL in the first name', { firstName: 'Ada\u0000', lastName: 'Lovelace' }],
    ['a lone surrogate in the last name', { firstName: 'Ada', lastName: 'Love\uD800lace' }],
  ])('answers 400 validation_error for %s and creates nothing', async (_case, fullName) => {
    const body = { ...newUser(), fullName };
    const res = await register(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.headers['set-cookie']).toBeUndefined();
    // Nothing was stored: the same email registers cleanly afterwards.
    expect((await register({ ...body, fullName: { firstName: 'Ada', lastName: 'Lovelace' } })).status).toBe(
      201,
    );
  });

  it('answers 400 validation_error for a password with a lone surrogate', async () => {
    const res = await register({ ...newUser(), password: 'long-enough-\uDC00-password' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
  });

  it('accepts a password of exactly 72 bytes', async () => {
    const res = await register({ ...newUser(), password: 'é'.repeat(36) });
    expect(res.status).toBe(201);
  });

  it.each(['password', 'Sunshine', 'ILOVEYOU', 'password1'])(
    'refuses the common password %s with 400 weak_password',
    async (password) => {
      const res = await register(newUser({ password }));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('weak_password');
    },
  );

  it('answers 400 invalid_json for a malformed body', async () => {
    const res = await request(auth.url)
      .post('/api/auth/register')
      .set('Content-Type', 'application/json')
      .send('{"email":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('answers 413 for a body over the size limit', async () => {
    const res = await register({ ...newUser(), fullName: { firstName: 'x'.repeat(100_000), lastName: 'y' } });
    expect(res.status).toBe(413);
  });
});
