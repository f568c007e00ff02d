import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Message } from '@cohort/common';
import {
  apiAs,
  collectMessages,
  connectSocket,
  registerUser,
  socketSend,
  startCluster,
  syncAll,
  waitFor,
  type ChatSocket,
  type Cluster,
  type TestUser,
} from '@cohort/testkit';

/**
 * Issue 9: the local cluster (real nginx, real redis-server, 3 realtime replicas, 2 gateways) proven with
 * real clients that talk to nginx only.
 */
let cluster: Cluster;
const sockets: ChatSocket[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    realtimeReplicas: 3,
    gateways: 2,
    env: {
      BCRYPT_COST: '4',
      LOGIN_IP_LIMIT: '100000',
      SEND_RATE_LIMIT: '100000/10s',
      CHAT_CREATE_RATE_LIMIT: '100000/10s',
      // One user opens 30 raw sessions below, to see them spread: more than the default socket cap.
      MAX_SOCKETS_PER_USER: '1000',
    },
  });
}, 90_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await cluster?.stop();
}, 60_000);

async function connect(user: TestUser, cid?: string): Promise<ChatSocket> {
  const socket = await connectSocket(cluster.url, user, cid ? { cid } : {});
  sockets.push(socket);
  return socket;
}

/** Connected sockets per replica, read from each replica's own /metrics. */
async function socketsPerReplica(): Promise<number[]> {
  return Promise.all(
    cluster.realtime.map(async (replica) => {
      const text = await (await fetch(`${replica.url}/metrics`)).text();
      const line = text.split('\n').find((l) => /^realtime_connected_sockets(\{| )/.test(l));
      return line ? Number(line.trim().split(/\s+/).pop()) : Number.NaN;
    }),
  );
}

/** One Engine.IO session by hand: polling open, connect packet, poll, websocket upgrade; the replica each answered from. */
async function rawSession(token: string, cid: string): Promise<string[]> {
  const base = `${cluster.url}/socket.io/?EIO=4&cid=${cid}`;
  const headers = { authorization: `Bearer ${token}` };
  const open = await fetch(`${base}&transport=polling`, { headers });
  const { sid } = JSON.parse((await open.text()).slice(1)) as { sid: string };
  const replicas = [open.headers.get('x-replica') ?? 'none'];
  const connectPacket = await fetch(`${base}&transport=polling&sid=${sid}`, {
    method: 'POST',
    headers,
    body: `40${JSON.stringify({ token })}`,
  });
  replicas.push(connectPacket.headers.get('x-replica') ?? 'none');
  const poll = await fetch(`${base}&transport=polling&sid=${sid}`, { headers });
  const body = await poll.text();
  if (!body.startsWith('40')) throw new Error(`not connected: ${body}`);
  replicas.push(poll.headers.get('x-replica') ?? 'none');
  const wsUrl = `${base.replace('http', 'ws')}&transport=websocket&sid=${sid}`;
  replicas.push(
    await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers });
      ws.once('upgrade', (res) => {
        resolve(String(res.headers['x-replica'] ?? 'none'));
        ws.close();
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    }),
  );
  return replicas;
}

/** One request from a chosen loopback source address (127.0.0.2 is another client as far as nginx can tell). */
function requestFrom(
  localAddress: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${cluster.url}${path}`,
      { method: init.method ?? 'GET', headers: init.headers ?? {}, localAddress },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('the edge (issue 15, issue 20)', () => {
  it.each([
    ['the web client', '/'],
    ['a client-side route', '/chats/665f1c2b9a1e4b3c2d1f0a9e'],
    ['nginx itself', '/healthz'],
    ['the gateway', '/api/auth/jwks.json'],
    ['a gateway refusal', '/api/chats'],
    ['a realtime replica', '/socket.io/?EIO=4&transport=polling'],
  ])('sends X-Content-Type-Options exactly once on %s (%s)', async (_what, path) => {
    const res = await requestFrom('127.0.0.1', path);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves the web client with the gateway’s CSP, framing and referrer protection', async () => {
    const res = await fetch(`${cluster.url}/`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain(
      `connect-src 'self' ws://127.0.0.1:${cluster.port} wss://127.0.0.1:${cluster.port}`,
    );
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
  });

  it('does not echo a malformed Host into the web client’s CSP', async () => {
    const res = await requestFrom('127.0.0.1', '/', { headers: { host: 'evil.example;script-src' } });
    const connectSrc = /connect-src([^;]*)/.exec(String(res.headers['content-security-policy']))?.[1];
    expect(connectSrc?.trim()).toBe("'self'");
  });

  it.each(['/', '/api/auth/jwks.json'])(
    'asks for no https upgrade and no HSTS over plain http (%s)',
    async (path) => {
      const res = await requestFrom('127.0.0.1', path);
      expect(String(res.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    },
  );

  it('limits failed logins per real client address, whatever X-Forwarded-For the client sends', async () => {
    const victim = await registerUser(cluster.url, 'xff');
    const attempt = (from: string, forged: string) =>
      requestFrom(from, '/api/auth/login', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': forged,
          'x-real-ip': forged,
        },
        body: JSON.stringify({ email: victim.user.email, password: 'wrong password' }),
      });
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i += 1) statuses.push((await attempt('127.0.0.1', `203.0.113.${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // Another real address still has its own attempts: the limit is per address, not global.
    expect((await attempt('127.0.0.2', '203.0.113.1')).status).toBe(401);
  });

  it('Redis refuses a client without the password, so no one can publish a forged chat event', async () => {
    const anonymous = new Redis({
      host: '127.0.0.1',
      port: cluster.redis.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    // The refusal also arrives as an error event: expected here, so it is not left unhandled.
    anonymous.on('error', () => undefined);
    try {
      const forged = JSON.stringify({ type: 'chat:new', chatId: 'x', message: {} });
      await expect(anonymous.publish('chat-events', forged)).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it('no service but nginx listens beyond loopback', () => {
    // The kernel's table of listening TCP sockets: the address each service actually bound.
    const listening = new Map<number, string>();
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local) continue;
      const [addressHex, portHex] = local.split(':');
      listening.set(parseInt(portHex ?? '', 16), addressHex ?? '');
    }
    const services = [cluster.auth, cluster.chatApi, ...cluster.realtime, ...cluster.gateways];
    for (const service of services) expect(listening.get(service.port)).toBe('0100007F'); // 127.0.0.1
    expect(cluster.redis.port).toBeGreaterThan(0);
    expect(listening.get(cluster.redis.port)).toBe('0100007F');
  });
});

test('polling-then-upgrade handshakes stick to one replica, and clients spread over all replicas', async () => {
  const user = await registerUser(cluster.url, 'sticky');
  const sessions = await Promise.all(Array.from({ length: 30 }, () => rawSession(user.token, randomUUID())));
  for (const replicas of sessions) {
    expect(new Set(replicas).size).toBe(1);
    expect(replicas[0]).toMatch(/^realtime-[123]$/);
  }
  expect(new Set(sessions.map((r) => r[0]))).toEqual(new Set(['realtime-1', 'realtime-2', 'realtime-3']));
});

test('clients spread over every replica receive each other’s messages exactly once, in order', async () => {
  const users = await Promise.all(['ann', 'ben', 'cat'].map((n) => registerUser(cluster.url, n)));
  const [owner, ...others] = users as [TestUser, TestUser, TestUser];
  const chat = await apiAs(cluster.url, owner).createGroup(
    'spread',
    others.map((u) => u.user.id),
  );
  const before = (await socketsPerReplica()).reduce((a, b) => a + b, 0);
  const clients = await Promise.all(
    users.flatMap((user) => Array.from({ length: 8 }, async () => ({ user, socket: await connect(user) }))),
  );
  const perReplica = await socketsPerReplica();
  expect(perReplica.reduce((a, b) => a + b, 0) - before).toBe(24);
  expect(perReplica.every((n) => n > 0)).toBe(true);

  const inboxes = clients.map(({ socket }) => collectMessages(socket));
  const acks = [];
  for (let i = 0; i < 5; i += 1) {
    for (const { socket, user } of clients.filter((_, index) => index % 8 === 0)) {
      acks.push(await socketSend(socket, chat.id, `${user.user.fullName.firstName} says ${i}`));
    }
  }
  expect(acks.every(({ ack }) => ack.ok)).toBe(true);
  await waitFor(() => {
    if (!inboxes.every((inbox) => inbox.byId.size === 15)) throw new Error('not yet delivered everywhere');
  }, 15_000);
  for (const inbox of inboxes) {
    expect(inbox.duplicates).toBe(0);
    expect([...inbox.byId.values()].map((m) => m.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
  }
});

test('killing a realtime replica moves its clients to the others and loses no acknowledged message', async () => {
  const users = await Promise.all(['dan', 'eve'].map((n) => registerUser(cluster.url, n)));
  const [owner, member] = users as [TestUser, TestUser];
  const chat = await apiAs(cluster.url, owner).createGroup('kill', [member.user.id]);
  const clients = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const user = i % 2 === 0 ? owner : member;
      return { user, socket: await connect(user) };
    }),
  );
  const inboxes = clients.map(({ socket }) => collectMessages(socket));
  const victimIndex = 1;
  const victim = cluster.realtime[victimIndex]!;
  let disconnected = 0;
  for (const { socket } of clients) socket.on('disconnect', () => (disconnected += 1));
  expect((await socketsPerReplica())[victimIndex]).toBeGreaterThan(0);

  // A steady stream of sends from every client while one replica dies.
  const acked: Message[] = [];
  let failedSends = 0;
  let stop = false;
  const senders = clients.map(async ({ socket }, i) => {
    for (let n = 0; !stop; n += 1) {
      try {
        const { ack } = await socketSend(socket, chat.id, `client ${i} message ${n}`, randomUUID(), 2000);
        if (ack.ok) acked.push(ack.message);
        else failedSends += 1;
      } catch {
        failedSends += 1; // no ack (the replica died under it): not acknowledged, so not promised
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  await waitFor(() => {
    if (acked.length < 50) throw new Error('warming up');
  }, 15_000);
  await victim.kill();
  const ackedAtKill = acked.length;
  await waitFor(() => {
    if (acked.length < ackedAtKill + 100) throw new Error('waiting for sends after the kill');
  }, 30_000);
  stop = true;
  await Promise.all(senders);
  expect(disconnected).toBeGreaterThan(0);

  // Every client is connected again (on a live replica) and catches up with chat:sync.
  await waitFor(() => {
    if (!clients.every(({ socket }) => socket.connected)) throw new Error('reconnecting');
  }, 20_000);
  const perReplica = await Promise.all(
    cluster.realtime.filter((r) => r !== victim).map(async (r) => (await fetch(`${r.url}/healthz`)).ok),
  );
  expect(perReplica).toEqual([true, true]);
  for (const [i, { socket }] of clients.entries()) inboxes[i]!.merge(await syncAll(socket, chat.id));

  const ackedIds = new Set(acked.map((m) => m.id));
  for (const inbox of inboxes) {
    for (const id of ackedIds) expect(inbox.byId.has(id)).toBe(true);
    const seqs = [...inbox.byId.values()].map((m) => m.seq).sort((a, b) => a - b);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
  }
  const stored = await syncAll(clients[0]!.socket, chat.id);
  expect(stored.length).toBeGreaterThanOrEqual(acked.length);
  process.stdout.write(
    `replica kill: acked ${acked.length}, unacked attempts ${failedSends}, stored ${stored.length}\n`,
  );
}, 90_000);

test('killing a gateway loses no request that nginx can retry', async () => {
  const user = await registerUser(cluster.url, 'gw');
  const api = apiAs(cluster.url, user);
  const chat = await api.createGroup('gateway kill', []);
  let ok = 0;
  const failures: string[] = [];
  let stop = false;
  const readers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      const res = await fetch(`${cluster.url}/api/chats/${chat.id}/messages?limit=5`, {
        headers: { authorization: `Bearer ${user.token}` },
      }).catch((err: unknown) => ({ status: `network error ${String(err)}` }));
      if (res.status === 200) ok += 1;
      else failures.push(String(res.status));
    }
  });
  await waitFor(() => {
    if (ok < 100) throw new Error('warming up');
  }, 10_000);
  await cluster.gateways[0]!.kill();
  const atKill = ok;
  await waitFor(() => {
    if (ok < atKill + 300) throw new Error('running after the kill');
  }, 20_000);
  stop = true;
  await Promise.all(readers);
  expect(failures).toEqual([]);
});
