import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import request from 'supertest';
import { freePort, generateTestKeys, type TestKeys } from '@cohort/testkit';
import { accessToken, startProbe, startTestGateway, type Probe, type TestGateway } from './support';

// Issue 19: an upstream restarting (refusing connections for a moment, or dropping one it was closing) is
// waited out by the gateway within a short budget instead of answered 502 at once. Refused connections are
// retried for every method (the request never reached the upstream); dropped ones only for GET and HEAD.

describe('gateway: an upstream that restarts', () => {
  let keys: TestKeys;
  let token: string;
  beforeAll(async () => {
    keys = await generateTestKeys();
    token = await accessToken(keys);
  });

  it('retries refused connections until the upstream listens again: GET and POST both answered', async () => {
    const port = await freePort();
    const auth = await startProbe();
    const gateway = await startTestGateway({
      keys,
      authUrl: auth.url,
      chatApiUrl: `http://127.0.0.1:${port}`,
    });
    const seen: string[] = [];
    const late: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    try {
      setTimeout(() => late.listen(port, '127.0.0.1'), 400);
      const started = Date.now();
      const [read, send] = await Promise.all([
        request(gateway.url).get('/api/chats').set('Authorization', `Bearer ${token}`),
        request(gateway.url)
          .post('/api/chats/665f1c2b9a1e4b3c2d1f0a9e/messages')
          .set('Authorization', `Bearer ${token}`)
          .send({ text: 'hi', clientMsgId: 'c1' }),
      ]);
      expect([read.status, send.status]).toEqual([200, 200]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      expect(seen.sort()).toEqual(['GET /api/chats', 'POST /api/chats/665f1c2b9a1e4b3c2d1f0a9e/messages']);
    } finally {
      late.closeAllConnections();
      late.close();
      await gateway.close();
      await auth.close();
    }
  });

  it('gives up on a connect nobody answers after the retry budget (502), not at the deadline', async () => {
    // A real upstream that stops accepting: a process listening with a backlog of 1 whose event loop is blocked
    // (for a minute at most, should the test die). Once its accept queue is full the kernel drops every further
    // SYN, so a connect hangs as it does when a SYN is lost on a network being rewired.
    let frozen: ChildProcess | undefined;
    const fillers: Socket[] = [];
    let auth: Probe | undefined;
    let gateway: TestGateway | undefined;
    try {
      frozen = spawn(process.execPath, [
        '-e',
        `const s = require('node:net').createServer();
         s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
           process.stdout.write(s.address().port + '\\n');
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
           process.exit(0);
         });`,
      ]);
      const child = frozen;
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        child.once('exit', (code) => reject(new Error(`the frozen upstream exited (${code})`)));
      });
      const connected = await Promise.all(
        Array.from({ length: 6 }, () => {
          const socket = connect(port, '127.0.0.1');
          socket.on('error', () => undefined);
          fillers.push(socket);
          return new Promise<boolean>((resolve) => {
            socket.once('connect', () => resolve(true));
            setTimeout(() => resolve(false), 500);
          });
        }),
      );
      // The queue took its few and then dropped the rest: the upstream is as frozen as the test needs.
      expect(connected.filter(Boolean).length).toBeLessThan(connected.length);

      auth = await startProbe();
      gateway = await startTestGateway({
        keys,
        authUrl: auth.url,
        chatApiUrl: `http://127.0.0.1:${port}`,
        env: { UPSTREAM_TIMEOUT_MS: '8000', UPSTREAM_RETRY_BUDGET_MS: '2000' },
      });
      const started = Date.now();
      const res = await request(gateway.url).get('/api/chats').set('Authorization', `Bearer ${token}`);
      const elapsed = Date.now() - started;
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ error: { code: 'upstream_unavailable', message: expect.any(String) } });
      // A first connect given up after 1 s, then tried again until the 2 s budget was spent (a timeout that
      // were not retried would answer at 1 s); TCP alone would have waited out the 8 s deadline.
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
      expect(elapsed).toBeLessThan(4_000);
    } finally {
      fillers.forEach((socket) => socket.destroy());
      frozen?.kill('SIGKILL');
      await gateway?.close();
      await auth?.close();
    }
  });

  describe('a connection dropped before the answer', () => {
    let auth: Probe;
    let chatApi: Probe;
    let gateway: TestGateway;
    beforeAll(async () => {
      [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
      gateway = await startTestGateway({ keys, authUrl: auth.url, chatApiUrl: chatApi.url });
    });
    afterAll(async () => {
      await gateway.close();
      await Promise.all([auth.close(), chatApi.close()]);
    });

    it('is asked again for a GET, answered by the second attempt', async () => {
      let calls = 0;
      chatApi.route('/api/chats/flaky', (req, res) => {
        calls += 1;
        if (calls === 1) req.socket.destroy();
        else res.setHeader('content-type', 'application/json').end('{"second":true}');
      });
      const res = await request(gateway.url).get('/api/chats/flaky').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ second: true });
      expect(calls).toBe(2);
    });

    it('is sent again, body and all, for a message send (keyed by its clientMsgId)', async () => {
      const bodies: string[] = [];
      const path = '/api/chats/665f1c2b9a1e4b3c2d1f0a9e/messages';
      chatApi.route(path, (req, res, body) => {
        bodies.push(body);
        if (bodies.length === 1) req.socket.destroy();
        else res.setHeader('content-type', 'application/json').end(body);
      });
      const sent = { text: 'x'.repeat(3000), clientMsgId: 'keyed-1' };
      const res = await request(gateway.url).post(path).set('Authorization', `Bearer ${token}`).send(sent);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(sent);
      expect(bodies).toEqual([JSON.stringify(sent), JSON.stringify(sent)]);
    });

    it('is not repeated for a POST the upstream may have seen: 502 upstream_unavailable', async () => {
      let calls = 0;
      chatApi.route('/api/chats', (req) => {
        calls += 1;
        req.socket.destroy();
      });
      const res = await request(gateway.url)
        .post('/api/chats')
        .set('Authorization', `Bearer ${token}`)
        .send({ type: 'group', title: 'once' });
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('upstream_unavailable');
      expect(calls).toBe(1);
    });
  });
});
