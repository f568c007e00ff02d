import { createServer, type Server } from 'node:http';
import {
  connect as connectTcp,
  createServer as createNetServer,
  type AddressInfo,
  type Socket,
} from 'node:net';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { z } from 'zod';
import { attachInternalChannel, type ChannelRoute, type InternalChannel } from '../src/channel';
import { INTERNAL_CHANNEL_PATH } from '../src/channel/channel-protocol';
import { AppError } from '../src/errors';
import { errorAnswer } from '../src/http/error-handler';
import { createLogger } from '../src/logger';
import { createServiceClient, type ServiceClient } from '../src/service-client';
import { failure } from './support/app-error-of';

// The service client and the internal channel against a real HTTP server on a free port that serves the same
// routes over HTTP and over its channel: which way each call went, and that the caller sees the same answers.
const logger = createLogger({ service: 'test', level: 'silent' });

interface Upstream {
  url: string;
  /** Paths of the calls that arrived over HTTP. */
  httpCalls: string[];
  /** Sockets of every connection, to cut them. */
  channelSockets: Socket[];
  channel: InternalChannel | undefined;
  registry: Registry;
  close(): Promise<void>;
}

const upstreams: Upstream[] = [];
const clients: ServiceClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function startUpstream(routes: Record<string, ChannelRoute>, withChannel = true): Promise<Upstream> {
  const httpCalls: string[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      httpCalls.push(path);
      const route = routes[path];
      const answer = route
        ? route(JSON.parse(text) as unknown).then((body) => ({ status: 200, headers: {}, body }))
        : Promise.reject(AppError.notFound(`No route for POST ${path}`));
      void answer
        .catch((err: unknown) => errorAnswer(err, logger))
        .then(({ status, headers, body }) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        });
    });
  });
  const registry = new Registry();
  const channel = withChannel
    ? attachInternalChannel(server, { routes, logger, registry, drainMs: 2000 })
    : undefined;
  const channelSockets: Socket[] = [];
  // Every connection, HTTP or channel: a test cuts them all (HTTP callers open new ones).
  server.on('connection', (socket: Socket) => channelSockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const upstream: Upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    httpCalls,
    channelSockets,
    channel,
    registry,
    close: async () => {
      for (const socket of channelSockets) socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  upstreams.push(upstream);
  return upstream;
}

function clientOf(upstream: Pick<Upstream, 'url'>, timeoutMs = 2000, maxAgeMs?: number): ServiceClient {
  const c = createServiceClient({
    name: 'chat-api',
    baseUrl: upstream.url,
    timeoutMs,
    channel: { connections: 2, maxAgeMs },
  });
  clients.push(c);
  return c;
}

const echoSchema = z.object({ echoed: z.unknown() });
const echo: ChannelRoute = (body) => Promise.resolve({ echoed: body });
const noCaller = { assertion: null, requestId: 'batch-1' };
const post = (client: ServiceClient, path: string, body: unknown, idempotent = true) =>
  client.call({
    method: 'POST',
    path,
    caller: noCaller,
    body,
    idempotent,
    overChannel: true,
    answer: echoSchema,
  });

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A client whose channel connections are open (its first call went over HTTP while they opened). */
async function connected(upstream: Upstream, timeoutMs?: number): Promise<ServiceClient> {
  const client = clientOf(upstream, timeoutMs);
  await post(client, '/internal/echo', 'first');
  await waitFor(() => upstream.channel?.connections() === 2);
  return client;
}

async function channelCallsCounted(upstream: Upstream): Promise<number> {
  return (await upstream.registry.metrics())
    .split('\n')
    .filter((line) => line.startsWith('internal_channel_call_duration_seconds_count'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('calls over the channel', () => {
  it('are carried by the channel once it is open, with the answers HTTP gives', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo });
    const client = await connected(upstream);
    expect(upstream.httpCalls).toEqual(['/internal/echo']);

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(client, '/internal/echo', { n: i, text: 'é ✓ "q"' })),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => ({ echoed: { n: i, text: 'é ✓ "q"' } })));
    expect(upstream.httpCalls).toEqual(['/internal/echo']);
    expect(await channelCallsCounted(upstream)).toBe(20);
  });

  it('only for calls marked overChannel that carry no identity of their own', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo });
    const client = await connected(upstream);
    await client.call({
      method: 'POST',
      path: '/internal/echo',
      caller: noCaller,
      body: 1,
      answer: echoSchema,
    });
    await client.call({
      method: 'POST',
      path: '/internal/echo',
      caller: { assertion: 'signed', requestId: 'r' },
      body: 2,
      overChannel: true,
      answer: echoSchema,
    });
    expect(upstream.httpCalls).toHaveLength(3);
    expect(await channelCallsCounted(upstream)).toBe(0);
  });

  it('end in the same errors as over HTTP: refusals with their status, code and Retry-After; failures 503', async () => {
    const routes: Record<string, ChannelRoute> = {
      '/internal/echo': echo,
      '/internal/limited': () => Promise.reject(AppError.tooManyRequests(3, 'Slow down')),
      '/internal/broken': () => Promise.reject(new Error('a bug')),
      '/internal/invalid': () => Promise.reject(AppError.badRequest('sends: too many', 'validation_error')),
    };
    const upstream = await startUpstream(routes);
    const client = await connected(upstream);
    upstream.httpCalls.length = 0;
    const overChannel = await Promise.all(
      ['/internal/limited', '/internal/broken', '/internal/invalid', '/internal/nowhere'].map((path) =>
        failure(post(client, path, {})),
      ),
    );
    expect(upstream.httpCalls).toEqual([]);
    const overHttp = await Promise.all(
      ['/internal/limited', '/internal/broken', '/internal/invalid', '/internal/nowhere'].map((path) =>
        failure(client.call({ method: 'POST', path, caller: noCaller, body: {} })),
      ),
    );
    const shape = (e: AppError) => ({
      status: e.status,
      code: e.code,
      message: e.message,
      headers: e.headers,
    });
    expect(overChannel.map(shape)).toEqual(overHttp.map(shape));
    expect(overChannel.map(shape)).toEqual([
      { status: 429, code: 'rate_limited', message: 'Slow down', headers: { 'Retry-After': '3' } },
      expect.objectContaining({ status: 503, code: 'upstream_unavailable' }),
      { status: 400, code: 'validation_error', message: 'sends: too many', headers: {} },
      expect.objectContaining({ status: 404, code: 'not_found' }),
    ]);
  });

  it('go over HTTP to an upstream without the channel', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo }, false);
    const client = clientOf(upstream);
    for (let i = 0; i < 5; i++) {
      expect(await post(client, '/internal/echo', i)).toEqual({ echoed: i });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Each of the two connections asked once for the channel (answered 404), and not again within the minute.
    expect(upstream.httpCalls.filter((path) => path === INTERNAL_CHANNEL_PATH)).toHaveLength(2);
    expect(upstream.httpCalls.filter((path) => path === '/internal/echo')).toHaveLength(5);
  });

  it('fail upstream_timeout when the upstream does not answer in time', async () => {
    const upstream = await startUpstream({
      '/internal/echo': echo,
      '/internal/stuck': () => new Promise(() => {}),
    });
    const client = await connected(upstream, 300);
    const started = Date.now();
    const err = await failure(post(client, '/internal/stuck', {}));
    expect({ status: err.status, code: err.code }).toEqual({ status: 504, code: 'upstream_timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    // The connection had answered since, so it was not taken for dead: the next call is carried by it.
    expect(await post(client, '/internal/echo', 'after')).toEqual({ echoed: 'after' });
    expect(upstream.httpCalls).toEqual(['/internal/echo']);
  });
});

describe('when a connection ends under calls', () => {
  it('an idempotent call is made again over HTTP; one that is not fails upstream_unavailable', async () => {
    let cuts = 1;
    const upstream = await startUpstream({
      '/internal/echo': echo,
      // Its next `cuts` calls cut every connection and are never answered; later ones are.
      '/internal/cut': (body) => {
        if (cuts > 0) {
          cuts--;
          for (const socket of upstream.channelSockets) socket.destroy();
          return new Promise(() => {});
        }
        return Promise.resolve({ echoed: body });
      },
    });
    const client = await connected(upstream);
    upstream.httpCalls.length = 0;
    expect(await post(client, '/internal/cut', 'again')).toEqual({ echoed: 'again' });
    expect(upstream.httpCalls).toEqual(['/internal/cut']);

    await waitFor(() => upstream.channel?.connections() === 2, 10_000);
    cuts = 1;
    const err = await failure(post(client, '/internal/cut', 'once', false));
    expect({ status: err.status, code: err.code }).toEqual({ status: 503, code: 'upstream_unavailable' });
    expect(upstream.httpCalls).toEqual(['/internal/cut']);
  });

  it('a drain: calls in progress are answered over the channel, later ones go over HTTP, connections close', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startUpstream({
      '/internal/echo': echo,
      '/internal/slow': async (body) => {
        await gate;
        return { echoed: body };
      },
    });
    const client = await connected(upstream);
    upstream.httpCalls.length = 0;
    const inProgress = [post(client, '/internal/slow', 'a'), post(client, '/internal/slow', 'b')];
    await waitFor(() => upstream.httpCalls.length === 0 && upstream.channel !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));

    upstream.channel?.drain();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await post(client, '/internal/echo', 'later')).toEqual({ echoed: 'later' });
    expect(upstream.httpCalls).toEqual(['/internal/echo']);

    release();
    expect(await Promise.all(inProgress)).toEqual([{ echoed: 'a' }, { echoed: 'b' }]);
    expect(upstream.httpCalls).toEqual(['/internal/echo']);
    await waitFor(() => upstream.channel?.connections() === 0);
    // New connections are refused while draining: calls keep going over HTTP.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(upstream.channel?.connections()).toBe(0);
    expect(await post(client, '/internal/echo', 'still')).toEqual({ echoed: 'still' });
  });
});

/** A TCP balancer in front of upstreams: each new connection goes to the port `target` names at that moment. */
async function startBalancer(target: { port: number }): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((inbound) => {
    const outbound = connectTcp(target.port, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const portOf = (upstream: Upstream) => Number(new URL(upstream.url).port);

const balancers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(balancers.splice(0).map((b) => b.close()));
});

/**
 * A client reaching `upstream` through a balancer, its channel connections open and replaced after about
 * `maxAgeMs`; `target.port` says where the balancer sends new connections.
 */
async function connectedThroughBalancer(upstream: Upstream, maxAgeMs: number) {
  const target = { port: portOf(upstream) };
  const balancer = await startBalancer(target);
  balancers.push(balancer);
  const client = clientOf(balancer, 2000, maxAgeMs);
  await post(client, '/internal/echo', 'first');
  await waitFor(() => upstream.channel?.connections() === 2);
  return { target, client };
}

/** A port nothing listens on (one that was just free). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('replacing connections', () => {
  it('after their age: upstreams added behind a balancer get the calls, none goes over HTTP, calls in progress are answered', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let slowArrived = false;
    const routes = {
      '/internal/echo': echo,
      '/internal/slow': async (body: unknown) => {
        slowArrived = true;
        await gate;
        return { echoed: body };
      },
    };
    const [first, added] = [await startUpstream(routes), await startUpstream(routes)];
    const { target, client } = await connectedThroughBalancer(first, 400);
    const inProgress = post(client, '/internal/slow', 'in progress');
    await waitFor(() => slowArrived);

    // A replica added: new connections land on it, the old ones stay where they are.
    target.port = portOf(added);
    let n = 0;
    const answers: unknown[] = [];
    while ((await channelCallsCounted(added)) < 10) {
      answers.push(await post(client, '/internal/echo', n++));
      if (n > 500) throw new Error('no call reached the added upstream');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(answers).toEqual(Array.from({ length: n }, (_, i) => ({ echoed: i })));
    await waitFor(() => added.channel?.connections() === 2, 5000);
    // The connection carrying the slow call waits for its answer before it closes.
    await waitFor(() => first.channel?.connections() === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(first.channel?.connections()).toBe(1);
    release();
    expect(await inProgress).toEqual({ echoed: 'in progress' });
    await waitFor(() => first.channel?.connections() === 0);
    expect([...first.httpCalls, ...added.httpCalls]).toEqual(['/internal/echo']);

    // The replacements are connections like any: cut, they are opened again.
    for (const socket of added.channelSockets) socket.destroy();
    await waitFor(() => added.channel?.connections() === 0);
    await waitFor(() => added.channel?.connections() === 2, 5000);
    const counted = await channelCallsCounted(added);
    expect(await post(client, '/internal/echo', 'after')).toEqual({ echoed: 'after' });
    expect(await channelCallsCounted(added)).toBe(counted + 1);
    expect(added.httpCalls).toEqual([]);
  });

  it('a replacement that cannot connect leaves the old connection serving', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo });
    const { target, client } = await connectedThroughBalancer(upstream, 200);
    // Nothing listens there: every replacement fails.
    target.port = await freePort();
    for (let i = 0; i < 40; i++) {
      expect(await post(client, '/internal/echo', i)).toEqual({ echoed: i });
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(upstream.channel?.connections()).toBe(2);
    expect(upstream.httpCalls).toEqual(['/internal/echo']);
    expect(await channelCallsCounted(upstream)).toBe(40);
  });
});

describe('what the channel refuses', () => {
  const closeOf = (ws: WebSocket) =>
    new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)).on('error', () => {}));
  const rawChannel = async (upstream: Upstream) => {
    const ws = new WebSocket(`${upstream.url.replace('http', 'ws')}${INTERNAL_CHANNEL_PATH}`);
    await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject));
    return ws;
  };

  it('a malformed call closes its connection (1008); other connections are served', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo });
    const client = await connected(upstream);
    for (const junk of ['not json', '{"id":"x","path":"/internal/echo","requestId":"r","body":1}', '[]']) {
      const raw = await rawChannel(upstream);
      const closed = closeOf(raw);
      raw.send(junk);
      expect(await closed).toBe(1008);
    }
    expect(await post(client, '/internal/echo', 'fine')).toEqual({ echoed: 'fine' });
    expect(await channelCallsCounted(upstream)).toBe(1);
  });

  it('a path that is not one of its routes, inherited names included, is answered 404', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo });
    const raw = await rawChannel(upstream);
    const answers: unknown[] = [];
    raw.on('message', (data: Buffer) => answers.push(JSON.parse(data.toString())));
    ['constructor', '__proto__', 'toString', '/internal/nowhere'].forEach((path, id) =>
      raw.send(JSON.stringify({ id, path, requestId: 'r', body: { x: 1 } })),
    );
    await waitFor(() => answers.length === 4);
    raw.close();
    expect(answers.map((a) => (a as { status: number }).status)).toEqual([404, 404, 404, 404]);
  });

  it('a call over the frame bound closes its connection (1009) unanswered', async () => {
    let reached = false;
    const upstream = await startUpstream({
      '/internal/echo': (body) => {
        reached = true;
        return echo(body);
      },
    });
    const raw = await rawChannel(upstream);
    const closed = closeOf(raw);
    raw.send(JSON.stringify({ id: 1, path: '/internal/echo', requestId: 'r', body: 'x'.repeat(70 * 1024) }));
    expect(await closed).toBe(1009);
    expect(reached).toBe(false);
  });

  it('upgrades on other paths are answered 404', async () => {
    const upstream = await startUpstream({ '/internal/echo': echo });
    const ws = new WebSocket(`${upstream.url.replace('http', 'ws')}/internal/elsewhere`).on(
      'error',
      () => {},
    );
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    ws.terminate();
    expect(status).toBe(404);
  });
});
