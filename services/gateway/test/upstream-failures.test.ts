import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { freePort, generateTestKeys, type TestKeys } from '@cohort/testkit';
import { accessToken, startProbe, startTestGateway, type Probe, type TestGateway } from './support';

/** Sends a chunked body (no Content-Length) and resolves with the status and body the gateway answered. */
function sendChunked(
  url: string,
  path: string,
  token: string,
  chunks: Buffer[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'Transfer-Encoding': 'chunked',
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The gateway may close the connection while we are still sending: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('gateway: when upstreams fail', () => {
  const TIMEOUT_MS = 400;
  let keys: TestKeys;
  let auth: Probe;
  let chatApi: Probe;
  let gateway: TestGateway;
  let token: string;

  beforeAll(async () => {
    keys = await generateTestKeys();
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
    gateway = await startTestGateway({
      keys,
      authUrl: auth.url,
      chatApiUrl: chatApi.url,
      env: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), BODY_LIMIT_BYTES: '1024' },
    });
    token = await accessToken(keys);
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([auth.close(), chatApi.close()]);
  });

  const api = () => request(gateway.url);
  const authed = (path: string) => api().get(path).set('Authorization', `Bearer ${token}`);

  it('answers 504 upstream_timeout when the upstream does not answer in time, and stays up', async () => {
    const held: Array<() => void> = [];
    chatApi.route('/api/chats/slow', (_req, res) => held.push(() => res.end('{}')));
    const started = Date.now();
    const res = await authed('/api/chats/slow');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ error: { code: 'upstream_timeout', message: expect.any(String) } });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
    held.forEach((release) => release());
    expect((await authed('/api/chats')).status).toBe(200);
  });

  it('cuts the connection when the upstream stalls after sending headers (never a hang)', async () => {
    chatApi.route('/api/chats/stall', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"partial":');
    });
    await expect(authed('/api/chats/stall')).rejects.toThrow();
    expect((await authed('/api/chats')).status).toBe(200);
  });

  it('answers 502 upstream_unavailable when the upstream resets the connection', async () => {
    chatApi.route('/api/chats/reset', (req) => req.socket.destroy());
    const res = await authed('/api/chats/reset');
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_unavailable');
    expect((await authed('/api/chats')).status).toBe(200);
  });

  it('answers 502 upstream_unavailable when nothing listens at the upstream address', async () => {
    const dead = await startTestGateway({
      keys,
      authUrl: `http://127.0.0.1:${await freePort()}`,
      chatApiUrl: `http://127.0.0.1:${await freePort()}`,
      // Nothing will listen: no need to wait out a restart (the retry itself is upstream-restart's test).
      env: { UPSTREAM_RETRY_BUDGET_MS: '300' },
    });
    try {
      const res = await request(dead.url).get('/api/chats').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ error: { code: 'upstream_unavailable', message: expect.any(String) } });
      const login = await request(dead.url).post('/api/auth/login').send({ email: 'a@b.co', password: 'x' });
      expect(login.status).toBe(502);
      const ready = await request(dead.url).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toMatchObject({ auth: expect.any(String), 'chat-api': expect.any(String) });
    } finally {
      await dead.close();
    }
  });

  it('reports ready when every upstream answers /healthz', async () => {
    const res = await api().get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ auth: 'ok', 'chat-api': 'ok', accepting: 'ok' });
  });

  it('refuses a body whose Content-Length is over the limit with 413 before forwarding it', async () => {
    const before = chatApi.seen.length;
    const res = await api()
      .post('/api/chats')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ title: 'x'.repeat(2000) }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(chatApi.seen.length).toBe(before);
  });

  it('refuses a chunked body once more than the limit has streamed (413)', async () => {
    const res = await sendChunked(gateway.url, '/api/chats', token, [
      Buffer.alloc(600, 'a'),
      Buffer.alloc(600, 'b'),
    ]);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
  });

  it('forwards a chunked body under the limit intact', async () => {
    const res = await sendChunked(gateway.url, '/api/chats', token, [
      Buffer.from('{"type":'),
      Buffer.from('"group","title":"t"}'),
    ]);
    expect(res.status).toBe(200);
    expect(chatApi.last('/api/chats')?.body).toBe('{"type":"group","title":"t"}');
  });

  describe('request id', () => {
    it('accepts a sane client id, forwards it upstream and echoes it', async () => {
      const res = await authed('/api/chats').set('X-Request-Id', 'client-id-123');
      expect(res.headers['x-request-id']).toBe('client-id-123');
      expect(chatApi.last('/api/chats')?.headers['x-request-id']).toBe('client-id-123');
    });

    it('generates one when absent, forwards it and echoes it', async () => {
      const res = await authed('/api/chats');
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(chatApi.last('/api/chats')?.headers['x-request-id']).toBe(id);
    });

    it('replaces an unsafe client id', async () => {
      const res = await authed('/api/chats').set('X-Request-Id', 'bad id with spaces <script>');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('echoes it on errors the gateway answers itself', async () => {
      const res = await api().get('/api/chats').set('X-Request-Id', 'err-id-1');
      expect(res.status).toBe(401);
      expect(res.headers['x-request-id']).toBe('err-id-1');
    });
  });

  it('does not pass the upstream X-Powered-By through', async () => {
    const res = await authed('/api/chats');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('counts upstream latency and failures in /metrics', async () => {
    const res = await api().get('/metrics');
    expect(res.text).toMatch(
      /gateway_upstream_request_duration_seconds_count\{[^}]*upstream="chat-api",status="200"/,
    );
    expect(res.text).toMatch(
      /gateway_upstream_errors_total\{upstream="chat-api",kind="timeout"[^}]*\} [1-9]/,
    );
    expect(res.text).toMatch(
      /gateway_upstream_errors_total\{upstream="chat-api",kind="unavailable"[^}]*\} [1-9]/,
    );
  });
});
