import request from 'supertest';
import { ACCESS_COOKIE } from '@cohort/common';
import { startTestMongo, type TestMongo } from '@cohort/testkit';
import { cookieValue, newUser, startTestAuth, type TestAuth } from './support';

describe('users: search and lookup', () => {
  let mongo: TestMongo;
  let auth: TestAuth;
  let identity: string;
  let callerId: string;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    mongo = await startTestMongo('auth_users');
    // chat-api unreachable: search must fail closed (no emails) rather than fail.
    auth = await startTestAuth({ mongoUrl: mongo.url, env: { CHAT_API_URL: 'http://127.0.0.1:9' } });
    const people = [
      newUser({ email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' }),
      newUser({ email: 'alan.turing@example.com', firstName: 'Alan', lastName: 'Turing' }),
      newUser({ email: 'grace@navy.example', firstName: 'Grace', lastName: 'Hopper' }),
      newUser({ email: 'edsger@example.com', firstName: 'Edsger', lastName: 'Dijkstra' }),
      newUser({ email: 'a.b+tag@example.com', firstName: 'Mary Ann', lastName: 'Evans' }),
    ];
    for (const person of people) {
      const res = await request(auth.url).post('/api/auth/register').send(person).expect(201);
      ids.set(person.email, res.body.user.id);
    }
    const caller = await request(auth.url)
      .post('/api/auth/register')
      .send(newUser({ email: 'adaline.caller@example.com', firstName: 'Adaline', lastName: 'Caller' }))
      .expect(201);
    callerId = caller.body.user.id;
    identity = await auth.identityFor(cookieValue(caller, ACCESS_COOKIE));
  });
  afterAll(async () => {
    await auth?.close();
    await mongo?.close();
  });

  const search = (q: string, extra = '') =>
    request(auth.url)
      .get(`/api/users/search?q=${encodeURIComponent(q)}${extra}`)
      .set('x-cohort-identity', identity);
  // Results carry no email here (nobody shares a chat with the caller): they are named by the email they
  // registered with, through their ids.
  const emailOfId = (id: string) => [...ids].find(([, known]) => known === id)?.[0] ?? id;
  const emailsOf = (res: request.Response) =>
    (res.body.users as { id: string }[]).map((u) => emailOfId(u.id)).sort();

  describe('GET /api/users/search', () => {
    it('matches a prefix of the email, case-insensitively', async () => {
      const res = await search('ALAN.');
      expect(res.status).toBe(200);
      expect(emailsOf(res)).toEqual(['alan.turing@example.com']);
    });

    it('matches a prefix of the first or the last name', async () => {
      expect(emailsOf(await search('grac'))).toEqual(['grace@navy.example']);
      expect(emailsOf(await search('dijk'))).toEqual(['edsger@example.com']);
    });

    it('matches "first last" prefixes and names containing a space', async () => {
      expect(emailsOf(await search('ada love'))).toEqual(['ada.lovelace@example.com']);
      expect(emailsOf(await search('mary an'))).toEqual(['a.b+tag@example.com']);
    });

    it('returns only id and fullName of a stranger: no email', async () => {
      const res = await search('grace');
      expect(res.body).toEqual({
        users: [{ id: ids.get('grace@navy.example'), fullName: { firstName: 'Grace', lastName: 'Hopper' } }],
      });
    });

    it('shows the email when the query is exactly that email (in any case)', async () => {
      const res = await search(' Grace@Navy.example ');
      expect(res.body.users).toEqual([
        {
          id: ids.get('grace@navy.example'),
          fullName: { firstName: 'Grace', lastName: 'Hopper' },
          email: 'grace@navy.example',
        },
      ]);
    });

    it('shows no email for a prefix of an email, however long', async () => {
      const res = await search('grace@navy.exampl');
      expect(res.body.users).toEqual([
        { id: ids.get('grace@navy.example'), fullName: { firstName: 'Grace', lastName: 'Hopper' } },
      ]);
    });

    it('leaves the caller out of the results', async () => {
      const res = await search('ada');
      expect(emailsOf(res)).toEqual(['ada.lovelace@example.com']);
      expect((res.body.users as { id: string }[]).map((u) => u.id)).not.toContain(callerId);
    });

    it('does not match in the middle of a name', async () => {
      expect(emailsOf(await search('velace'))).toEqual([]);
    });

    it.each(['.*', 'a.b+', '((', '[a-z]', '\\\\'])('treats %s literally, never as a pattern', async (q) => {
      const res = await search(q);
      expect(res.status).toBe(200);
      expect(emailsOf(res)).toEqual(q === 'a.b+' ? ['a.b+tag@example.com'] : []);
    });

    it('honours limit', async () => {
      const res = await search('ad', '&limit=1');
      expect(res.status).toBe(200);
      expect(res.body.users).toHaveLength(1);
    });

    it.each([
      ['an empty query', '/api/users/search?q='],
      ['a one-character query', '/api/users/search?q=a'],
      ['a query that is one character once trimmed', '/api/users/search?q=%20a%20'],
      ['a query with NUL', '/api/users/search?q=ad%00a'],
      ['a missing query', '/api/users/search'],
      ['a limit over 50', '/api/users/search?q=a&limit=51'],
      ['a repeated q', '/api/users/search?q=a&q=b'],
      ['a query over 100 characters', `/api/users/search?q=${'a'.repeat(101)}`],
    ])('answers 400 for %s', async (_case, path) => {
      const res = await request(auth.url).get(path).set('x-cohort-identity', identity);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    });

    it('answers 401 without a forwarded identity', async () => {
      expect((await request(auth.url).get('/api/users/search?q=ada')).status).toBe(401);
    });
  });

  describe('GET /api/users?ids=', () => {
    it('returns the users that exist, in the order asked, skipping unknown ids', async () => {
      const grace = ids.get('grace@navy.example')!;
      const ada = ids.get('ada.lovelace@example.com')!;
      const unknown = '0123456789abcdef01234567';
      const res = await request(auth.url)
        .get(`/api/users?ids=${grace},${unknown},${ada},${grace}`)
        .set('x-cohort-identity', identity);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        users: [
          { id: grace, fullName: { firstName: 'Grace', lastName: 'Hopper' } },
          { id: ada, fullName: { firstName: 'Ada', lastName: 'Lovelace' } },
        ],
      });
    });

    it("never gives another user's email, and gives the caller their own", async () => {
      const grace = ids.get('grace@navy.example')!;
      const res = await request(auth.url)
        .get(`/api/users?ids=${callerId},${grace}`)
        .set('x-cohort-identity', identity);
      expect(res.body.users).toEqual([
        {
          id: callerId,
          fullName: { firstName: 'Adaline', lastName: 'Caller' },
          email: 'adaline.caller@example.com',
        },
        { id: grace, fullName: { firstName: 'Grace', lastName: 'Hopper' } },
      ]);
    });

    it.each([
      ['no ids', '/api/users'],
      ['an empty list', '/api/users?ids='],
      ['a malformed id', '/api/users?ids=abc'],
      [
        '101 ids',
        `/api/users?ids=${Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(24, '0')).join(',')}`,
      ],
    ])('answers 400 for %s', async (_case, path) => {
      const res = await request(auth.url).get(path).set('x-cohort-identity', identity);
      expect(res.status).toBe(400);
    });

    it('accepts 100 ids', async () => {
      const list = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(24, '0')).join(',');
      const res = await request(auth.url).get(`/api/users?ids=${list}`).set('x-cohort-identity', identity);
      expect(res.status).toBe(200);
      expect(res.body.users).toEqual([]);
    });

    it('answers 401 without a forwarded identity', async () => {
      expect((await request(auth.url).get(`/api/users?ids=${callerId}`)).status).toBe(401);
    });
  });
});
