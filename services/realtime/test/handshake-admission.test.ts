import { Redis } from 'ioredis';
import type { RunningRealtime } from '../src/main';
import { client, connect, refusal, refusalWithData, type TestClient } from './helpers/clients';
import { startHoldingProxy, type HoldingProxy } from './helpers/holding-proxy';
import { startStack, type Stack } from './helpers/stack';
import { objectId, signAccessToken } from './helpers/tokens';

const MAX_CONCURRENT_HANDSHAKES = 3;

/** Resolves once `check` holds; polls (what it watches has no event to await), fails after `ms`. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// One replica in this process with real auth, chat-api and Redis; its chat-api calls go through a proxy that can
// hold them, which keeps handshakes in progress (waiting for their memberships) for as long as a test needs.
describe('handshake admission', () => {
  let stack: Stack;
  let proxy: HoldingProxy;
  let replica: RunningRealtime;
  let redis: Redis;
  let url: string;
  const opened: TestClient[] = [];

  const metric = async (line: RegExp): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = line.exec(text);
    return match ? Number(match[1]) : 0;
  };
  const inProgress = () => metric(/^realtime_handshakes_in_progress(?:\{[^}]*\})? (\d+)/m);
  const outcomes = (outcome: string) =>
    metric(new RegExp(`^realtime_handshakes_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm'));

  const userClient = async (options: { userId?: string; timeoutMs?: number } = {}) => {
    const token = await signAccessToken(stack.keys, { userId: options.userId ?? objectId() });
    const socket = client(url, { token, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    opened.push(socket);
    return socket;
  };

  beforeAll(async () => {
    stack = await startStack();
    proxy = await startHoldingProxy(stack.chatApi.url);
    redis = new Redis(stack.redis.url);
    replica = await stack.startReplica('rt-admission', {
      CHAT_API_URL: proxy.url,
      MAX_CONCURRENT_HANDSHAKES: String(MAX_CONCURRENT_HANDSHAKES),
      // No waiting beyond the bound here (the queue has its own replicas below).
      HANDSHAKE_QUEUE: '0',
      // Held calls must not time out while a test holds them.
      CHAT_API_TIMEOUT_MS: '60000',
    });
    url = `http://127.0.0.1:${replica.port}`;
  });

  afterEach(() => {
    proxy.release();
    for (const socket of opened.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
    await redis?.quit();
  });

  it('refuses handshakes beyond the bound at once with a retryable `overloaded` when none may wait, admits again once they finish', async () => {
    proxy.hold();
    const admitted = await Promise.all(
      Array.from({ length: MAX_CONCURRENT_HANDSHAKES }, () => userClient({ timeoutMs: 30_000 })),
    );
    let connected = 0;
    const connecting = admitted.map((socket) => connect(socket).then(() => (connected += 1)));
    await until(
      'the admitted handshakes are in progress',
      async () => (await inProgress()) === MAX_CONCURRENT_HANDSHAKES,
    );

    const excess = await Promise.all(Array.from({ length: 5 }, () => userClient()));
    const refusals = await Promise.all(excess.map((socket) => refusalWithData(socket)));
    // Answered while the admitted handshakes are still held: refused at once, not queued behind them.
    expect(connected).toBe(0);
    for (const refused of refusals)
      expect(refused).toEqual({ message: 'overloaded', data: { code: 'overloaded', retryable: true } });

    proxy.release();
    await Promise.all(connecting);
    expect(admitted.every((socket) => socket.connected)).toBe(true);
    await until('no handshake in progress', async () => (await inProgress()) === 0);

    const later = await Promise.all(
      Array.from({ length: MAX_CONCURRENT_HANDSHAKES }, async () => connect(await userClient())),
    );
    expect(later.every((socket) => socket.connected)).toBe(true);
    expect(await outcomes('overloaded')).toBeGreaterThanOrEqual(5);
  });

  describe('with handshakes waiting for a place (HANDSHAKE_QUEUE)', () => {
    const QUEUE = 2;
    /** A replica of the same stack that lets `QUEUE` handshakes wait `waitMs` beyond the bound. */
    const queueingReplica = async (name: string, waitMs: number) => {
      const started = await stack.startReplica(name, {
        CHAT_API_URL: proxy.url,
        MAX_CONCURRENT_HANDSHAKES: String(MAX_CONCURRENT_HANDSHAKES),
        HANDSHAKE_QUEUE: String(QUEUE),
        HANDSHAKE_QUEUE_WAIT_MS: String(waitMs),
        CHAT_API_TIMEOUT_MS: '60000',
      });
      const base = `http://127.0.0.1:${started.port}`;
      const gauge = async (name: string) => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      };
      const open = async () => {
        const token = await signAccessToken(stack.keys, { userId: objectId() });
        const socket = client(base, { token, timeoutMs: 30_000 });
        opened.push(socket);
        return socket;
      };
      return { gauge, open };
    };

    it('admits the waiting ones as places free, and refuses at once past the queue', async () => {
      const { gauge, open } = await queueingReplica('rt-queue', 60_000);
      proxy.hold();
      let connected = 0;
      const admitted = await Promise.all(Array.from({ length: MAX_CONCURRENT_HANDSHAKES }, open));
      const connecting = admitted.map((socket) => connect(socket).then(() => (connected += 1)));
      await until('the bound is reached', async () => (await gauge('realtime_handshakes_in_progress')) === 3);

      const waiters: TestClient[] = [];
      for (let i = 0; i < QUEUE; i += 1) {
        const socket = await open();
        waiters.push(socket);
        connecting.push(connect(socket).then(() => (connected += 1)));
        await until(`waiter ${i} waits`, async () => (await gauge('realtime_handshakes_waiting')) === i + 1);
      }
      // Past the queue: refused at once, while everything before it is still held.
      const excess = await Promise.all(Array.from({ length: 3 }, open));
      for (const refused of await Promise.all(excess.map((socket) => refusalWithData(socket))))
        expect(refused).toEqual({ message: 'overloaded', data: { code: 'overloaded', retryable: true } });
      expect(connected).toBe(0);

      proxy.release();
      await Promise.all(connecting);
      expect([...admitted, ...waiters].every((socket) => socket.connected)).toBe(true);
      expect(await gauge('realtime_handshakes_waiting')).toBe(0);
    });

    it('refuses a waiting handshake with `overloaded` once it waited HANDSHAKE_QUEUE_WAIT_MS', async () => {
      const { gauge, open } = await queueingReplica('rt-queue-short', 300);
      proxy.hold();
      const admitted = await Promise.all(Array.from({ length: MAX_CONCURRENT_HANDSHAKES }, open));
      const connecting = admitted.map((socket) => connect(socket));
      await until('the bound is reached', async () => (await gauge('realtime_handshakes_in_progress')) === 3);

      const waiter = await open();
      const askedAt = performance.now();
      expect(await refusalWithData(waiter)).toEqual({
        message: 'overloaded',
        data: { code: 'overloaded', retryable: true },
      });
      expect(performance.now() - askedAt).toBeGreaterThanOrEqual(250);
      expect(await gauge('realtime_handshakes_waiting')).toBe(0);

      proxy.release();
      await Promise.all(connecting);
      expect(admitted.every((socket) => socket.connected)).toBe(true);
    });
  });

  it('drops the rest of a handshake whose client went away: no rooms, its socket place given back', async () => {
    const userId = objectId();
    proxy.hold();
    const socket = await userClient({ userId, timeoutMs: 30_000 });
    let connected = false;
    // Never settles: a client that disconnects itself gets neither `connect` nor `connect_error`.
    void connect(socket).then(() => (connected = true));
    await until('the handshake is in progress', async () => (await inProgress()) === 1);
    const abandonedBefore = await outcomes('abandoned');

    socket.disconnect();
    await until('the replica saw the client go', () => replica.io.engine.clientsCount === 0);
    proxy.release();

    await until('the handshake ended', async () => (await inProgress()) === 0);
    expect(await outcomes('abandoned')).toBe(abandonedBefore + 1);
    expect(replica.io.of('/').adapter.rooms.has(`user:${userId}`)).toBe(false);
    expect(replica.io.of('/').sockets.size).toBe(0);
    expect(connected).toBe(false);
    // The place `MAX_SOCKETS_PER_USER` counts (connection-quota.ts) was given back.
    await until(
      'the quota place is given back',
      async () => (await redis.zcard(`cohort:connections:u:${userId}`)) === 0,
    );
  });

  describe('a token that already opened a socket', () => {
    it('is still refused once its session is revoked', async () => {
      const user = await stack.register('revoked-after-cached');
      const first = client(url, { token: user.token });
      opened.push(first);
      await connect(first);
      first.disconnect();

      await stack.logout(user);
      expect(await refusal(client(url, { token: user.token }))).toBe('unauthorized');
    });

    it('is still refused once it expired', async () => {
      const token = await signAccessToken(stack.keys, { userId: objectId(), expiresIn: 8 });
      const expiresAtMs =
        (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
      const first = client(url, { token });
      opened.push(first);
      await connect(first);
      first.disconnect();

      // Waits for the token's own expiry (whole seconds), not for a guess at how long anything takes.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAtMs - Date.now()) + 50));
      expect(await refusalWithData(client(url, { token }))).toEqual({
        message: 'unauthorized',
        data: { code: 'unauthorized', retryable: false },
      });
    }, 40_000);
  });
});
