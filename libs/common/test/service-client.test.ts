import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { IDENTITY_HEADER } from '../src/auth/internal-identity';
import { REQUEST_ID_HEADER } from '../src/http/request-context';
import { createServiceClient, isRetryableTransportFailure, type ServiceClient } from '../src/service-client';
import { failure } from './support/app-error-of';

// The client against a real HTTP server on a free port, scripted per test: what the upstream received and how
// each way an upstream can fail reaches the caller.
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handle: Handler;
const open: ServiceClient[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handle(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(timeoutMs = 2000, url = baseUrl): ServiceClient {
  const c = createServiceClient({ name: 'users', baseUrl: url, timeoutMs });
  open.push(c);
  return c;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const caller = { assertion: 'signed.identity.assertion', requestId: 'req-42' };
const usersSchema = z.object({ users: z.array(z.object({ id: z.string() })) });

describe('what the upstream receives', () => {
  test('the caller’s identity assertion and request id, and a JSON body', async () => {
    let seen:
      { headers: IncomingMessage['headers']; method?: string; url?: string; body: string } | undefined;
    handle = (req, body, res) => {
      seen = { headers: req.headers, method: req.method, url: req.url, body };
      res.writeHead(204).end();
    };
    await client().call({ method: 'POST', path: '/api/things?x=1', caller, body: { name: 'n' } });
    expect(seen).toMatchObject({ method: 'POST', url: '/api/things?x=1', body: '{"name":"n"}' });
    expect(seen?.headers[IDENTITY_HEADER]).toBe('signed.identity.assertion');
    expect(seen?.headers[REQUEST_ID_HEADER]).toBe('req-42');
    expect(seen?.headers['content-type']).toBe('application/json');
  });

  test('no identity header when the body carries the identities (a batch), the request id still', async () => {
    let headers: IncomingMessage['headers'] = {};
    let body = '';
    handle = (req, received, res) => {
      headers = req.headers;
      body = received;
      json(res, 200, { ok: true });
    };
    await client().call({
      method: 'POST',
      path: '/internal/batches',
      caller: { assertion: null, requestId: 'batch-1' },
      json: '{"sends":[1,2]}',
      answer: z.object({ ok: z.literal(true) }),
    });
    expect(headers[IDENTITY_HEADER]).toBeUndefined();
    expect(headers[REQUEST_ID_HEADER]).toBe('batch-1');
    expect(body).toBe('{"sends":[1,2]}');
  });

  test('calls reuse kept-alive connections', async () => {
    const ports = new Set<number>();
    handle = (req, _body, res) => {
      ports.add(req.socket.remotePort ?? 0);
      json(res, 200, { users: [] });
    };
    const c = client();
    for (let i = 0; i < 10; i += 1) await c.call({ method: 'GET', path: '/u', caller, answer: usersSchema });
    // A call may leave before the previous connection is back in the pool: at most a second one opens.
    expect(ports.size).toBeLessThanOrEqual(2);
  });
});

describe('answers', () => {
  test('a 2xx answer comes back parsed by its schema', async () => {
    handle = (_req, _body, res) => json(res, 200, { users: [{ id: 'a', extra: 1 }] });
    const answer = await client().call({ method: 'GET', path: '/u', caller, answer: usersSchema });
    expect(answer).toEqual({ users: [{ id: 'a' }] });
  });

  test('a 2xx answer in another shape is upstream_unavailable', async () => {
    handle = (_req, _body, res) => json(res, 200, { people: [] });
    const err = await failure(client().call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable', headers: { 'Retry-After': '1' } });
  });

  test('a 2xx answer that is not JSON is upstream_unavailable', async () => {
    handle = (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    const err = await failure(client().call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable' });
  });

  test('a 4xx refusal passes through with its status, code, message and Retry-After', async () => {
    handle = (_req, _body, res) =>
      json(res, 429, { error: { code: 'rate_limited', message: 'Slow down' } }, { 'retry-after': '7' });
    const err = await failure(client().call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({
      status: 429,
      code: 'rate_limited',
      message: 'Slow down',
      headers: { 'Retry-After': '7' },
    });
  });

  test('a 404 without an error body is not_found', async () => {
    handle = (_req, _body, res) => res.writeHead(404).end();
    const err = await failure(client().call({ method: 'GET', path: '/u', caller }));
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
  });

  test('a 5xx internal_error is upstream_unavailable: the upstream’s bug is not the caller’s', async () => {
    handle = (_req, _body, res) =>
      json(res, 500, { error: { code: 'internal_error', message: 'Internal server error', errorId: 'abc' } });
    const err = await failure(client().call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable', headers: { 'Retry-After': '1' } });
  });

  test('a 5xx without an error body (a proxy, a server draining) is upstream_unavailable', async () => {
    handle = (_req, _body, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway');
    const err = await failure(client().call({ method: 'GET', path: '/u', caller }));
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable' });
  });

  test('a deliberate 5xx with its own code passes through with its Retry-After', async () => {
    handle = (_req, _body, res) =>
      json(res, 503, { error: { code: 'sequence_contention', message: 'Too busy' } }, { 'retry-after': '1' });
    const err = await failure(client().call({ method: 'GET', path: '/u', caller }));
    expect(err).toMatchObject({ status: 503, code: 'sequence_contention', headers: { 'Retry-After': '1' } });
  });
});

describe('transport failures', () => {
  test('nothing listening at the port is upstream_unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(
      client(2000, `http://127.0.0.1:${port}`).call({
        method: 'GET',
        path: '/u',
        caller,
        answer: usersSchema,
      }),
    );
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable', headers: { 'Retry-After': '1' } });
  });

  test('an upstream that never answers is upstream_timeout, within the deadline', async () => {
    handle = () => undefined;
    const started = performance.now();
    const err = await failure(client(300).call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    const elapsed = performance.now() - started;
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    // The agent's timers are coarse (undici checks them about every 500 ms): the bound allows for that.
    expect(elapsed).toBeLessThan(1500);
  });

  test('an answer whose body stops arriving is upstream_timeout', async () => {
    handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"users":[');
    };
    const err = await failure(client(300).call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
  });

  test('close() closes the pooled connections; later calls fail upstream_unavailable', async () => {
    let socket: Socket | undefined;
    handle = (req, _body, res) => {
      socket = req.socket;
      json(res, 200, { users: [] });
    };
    const c = createServiceClient({ name: 'users', baseUrl, timeoutMs: 2000 });
    await c.call({ method: 'GET', path: '/u', caller, answer: usersSchema });
    const kept = socket;
    expect(kept?.destroyed).toBe(false);
    await c.close();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the connection stayed open')), 2000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      if (kept?.destroyed) done();
      else kept?.once('close', done);
    });
    const err = await failure(c.call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable' });
  });
});

describe('retries while an upstream restarts', () => {
  const freePort = async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    return port;
  };

  test('a refused connection is retried, even for a POST, until the upstream listens', async () => {
    const port = await freePort();
    const late = createServer((_req, res) => json(res, 201, { users: [{ id: 'u1' }] }));
    setTimeout(() => late.listen(port, '127.0.0.1'), 300);
    try {
      const answer = await client(2000, `http://127.0.0.1:${port}`).call({
        method: 'POST',
        path: '/u',
        caller,
        body: { any: 'thing' },
        answer: usersSchema,
      });
      expect(answer).toEqual({ users: [{ id: 'u1' }] });
    } finally {
      late.closeAllConnections();
      await new Promise((resolve) => late.close(resolve));
    }
  });

  test('refused for longer than the retry budget is upstream_unavailable, soon after the budget', async () => {
    const port = await freePort();
    const c = createServiceClient({
      name: 'users',
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 2000,
      retryBudgetMs: 300,
    });
    open.push(c);
    const started = performance.now();
    const err = await failure(c.call({ method: 'GET', path: '/u', caller, answer: usersSchema }));
    expect(err).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('a reset connection is retried for a GET or an idempotent call, never for another POST', async () => {
    let seen = 0;
    handle = (req, _body, res) => {
      seen += 1;
      // The first request of each pair is dropped as a restarting server would; the next one is answered.
      if (seen % 2 === 1) req.socket.destroy();
      else json(res, 200, { users: [] });
    };
    await expect(client().call({ method: 'GET', path: '/u', caller, answer: usersSchema })).resolves.toEqual({
      users: [],
    });
    expect(seen).toBe(2);
    const keyed = client().call({
      method: 'POST',
      path: '/u',
      caller,
      body: { clientMsgId: 'm1' },
      idempotent: true,
      answer: usersSchema,
    });
    await expect(keyed).resolves.toEqual({ users: [] });
    expect(seen).toBe(4);
    const plain = await failure(
      client().call({ method: 'POST', path: '/u', caller, body: {}, answer: usersSchema }),
    );
    expect(plain).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(seen).toBe(5);
  });
});

describe('which transport failures a call retries', () => {
  const failure = (code: string) => Object.assign(new Error(code), { code });

  it('retries a connection that was never made (refused, or its connect timed out), whatever the call', () => {
    for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect(isRetryableTransportFailure(failure(code), false)).toBe(true);
      expect(isRetryableTransportFailure(failure(code), true)).toBe(true);
    }
  });

  it('retries a dropped connection only for an idempotent call, and nothing else', () => {
    expect(isRetryableTransportFailure(failure('ECONNRESET'), true)).toBe(true);
    expect(isRetryableTransportFailure(failure('ECONNRESET'), false)).toBe(false);
    expect(isRetryableTransportFailure(failure('UND_ERR_HEADERS_TIMEOUT'), true)).toBe(false);
    expect(isRetryableTransportFailure(new Error('no code'), true)).toBe(false);
  });
});
