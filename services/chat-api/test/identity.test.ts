import { createIdentitySigner, generatePemKeyPair, IDENTITY_HEADER, importSigningKey } from '@cohort/common';
import { newId, signFor, startHarness, type Harness } from './support';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const protectedRoutes: [string, string][] = [
  ['get', '/api/chats'],
  ['post', '/api/chats'],
  ['get', `/api/chats/${newId()}`],
  ['get', `/api/chats/${newId()}/messages`],
  ['post', `/api/chats/${newId()}/messages`],
  ['patch', `/api/chats/${newId()}/messages/${newId()}`],
  ['delete', `/api/chats/${newId()}/messages/${newId()}`],
  ['post', `/api/chats/${newId()}/members`],
  ['delete', `/api/chats/${newId()}/members/${newId()}`],
  ['post', `/api/chats/${newId()}/read`],
  ['get', '/internal/memberships'],
];

describe('forwarded identity', () => {
  test.each(protectedRoutes)('refuses %s %s without a forwarded identity (401)', async (method, path) => {
    const agent = h.http();
    const res = await (method === 'get'
      ? agent.get(path)
      : method === 'post'
        ? agent.post(path).send({})
        : method === 'patch'
          ? agent.patch(path).send({})
          : agent.delete(path));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  test('refuses a forged x-user-id header without an assertion', async () => {
    const res = await h.http().get('/api/chats').set('x-user-id', newId()).set('x-auth-user', newId());
    expect(res.status).toBe(401);
  });

  test('refuses an assertion signed by a key it does not trust', async () => {
    const rogue = generatePemKeyPair('EdDSA');
    const signer = createIdentitySigner(await importSigningKey(rogue.privateKeyPem, 'EdDSA'), 'gateway');
    const res = await h
      .http()
      .get('/api/chats')
      .set(IDENTITY_HEADER, await signFor(signer, newId()));
    expect(res.status).toBe(401);
  });

  test('refuses a tampered assertion', async () => {
    const valid = await h.identity(newId());
    const [header, payload, signature] = valid.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: newId() })).toString('base64url');
    const res = await h.http().get('/api/chats').set(IDENTITY_HEADER, `${header}.${forged}.${signature}`);
    expect(res.status).toBe(401);
  });

  test('ignores x-user-id when a valid assertion names someone else', async () => {
    const owner = newId();
    const intruder = newId();
    const created = await h
      .http()
      .post('/api/chats')
      .set(IDENTITY_HEADER, await h.identity(owner))
      .send({ type: 'group', title: 'mine' });
    expect(created.status).toBe(201);
    const res = await h
      .http()
      .get(`/api/chats/${(created.body as { chat: { id: string } }).chat.id}`)
      .set(IDENTITY_HEADER, await h.identity(intruder))
      .set('x-user-id', owner);
    expect(res.status).toBe(404);
  });

  test('accepts the identity realtime forwards with its own key', async () => {
    const signer = createIdentitySigner(
      await importSigningKey(h.keys.realtimeIdentity.privateKeyPem, 'EdDSA'),
      'realtime',
    );
    const res = await h
      .http()
      .get('/api/chats')
      .set(IDENTITY_HEADER, await signFor(signer, newId()));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ chats: [], nextCursor: null });
  });

  test('serves health, readiness and metrics without identity', async () => {
    expect((await h.http().get('/healthz')).status).toBe(200);
    const ready = await h.http().get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ mongo: 'ok', redis: 'ok', accepting: 'ok' });
    const metrics = await h.http().get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('chat_events_published_total');
  });

  test('answers unknown paths with a JSON 404 and sets nosniff without x-powered-by', async () => {
    const res = await h.http().get('/nope').set('x-request-id', 'req-123');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-request-id']).toBe('req-123');
  });
});
