import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Message } from '@cohort/common';
import {
  apiAs,
  connectSocket,
  registerUser,
  waitFor,
  type ServiceProcess,
  type TestUser,
} from '@cohort/testkit';
import {
  crashed,
  spawnChatApiLike,
  startFaultCluster,
  storeUrlVia,
  type FaultCluster,
} from './support/cluster-kit';
import { startDelayProxy, type DelayProxy } from './support/delay-proxy';
import { report } from './support/report';
import { bySize } from './support/size';
import { ms, percentile } from './support/stats';
import { openStore, type StoreProbe } from './support/store';
import { TrackedClient } from './support/tracked-client';
import { Traffic, verdict } from './support/traffic';

/**
 * Case 3: chat-api restarted (SIGTERM and SIGKILL) and a slow store (latency added by a TCP proxy between chat-api
 * and the store) under socket and REST traffic. Every send succeeds or fails with a clear error (an error ack,
 * or 502/504 in the error shape) and none hangs; nothing acknowledged is lost; retries with the same
 * clientMsgId converge on exactly one stored message each.
 */
const UPSTREAM_TIMEOUT_MS = 2000;
const RATE = bySize(10, 30);
const REST_RATE = bySize(5, 15);
const DOWN_MS = bySize(2000, 5000);
const SLOW_PHASE_MS = bySize(4000, 15_000);
const STALL_PHASE_MS = bySize(5000, 15_000);
/** An answer later than this is a hang: the gateway's deadline plus a margin for a loaded machine. */
const HANG_MS = UPSTREAM_TIMEOUT_MS + 2000;

let cluster: FaultCluster;
let store: StoreProbe;
let proxy: DelayProxy;
let chatApi: ServiceProcess;
let alice: TestUser;
let bob: TestUser;
let chatId: string;
const clients: TrackedClient[] = [];

beforeAll(async () => {
  cluster = await startFaultCluster({
    realtimeReplicas: 1,
    gateways: 1,
    env: {
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      CHAT_API_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    },
  });
  store = await openStore(cluster.mongoUrl);
  // chat-api again, on the same port (the gateway and the replica reach it unchanged), but through the proxy.
  await cluster.chatApi.stop();
  proxy = await startDelayProxy(Number(new URL(cluster.mongoUrl).port));
  chatApi = await spawnChatApiLike(cluster, { mongoUrl: storeUrlVia(cluster.mongoUrl, proxy.port) });
  [alice, bob] = await Promise.all([registerUser(cluster.url, 'alice'), registerUser(cluster.url, 'bob')]);
  chatId = (await apiAs(cluster.url, alice).createGroup('chat-api faults', [bob.user.id])).id;
  for (const user of [alice, bob, alice, bob]) {
    clients.push(
      new TrackedClient(
        await connectSocket(cluster.url, user),
        user,
        [chatId],
        user.user.fullName.firstName,
        true,
      ),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.socket.close();
  await chatApi?.stop();
  await proxy?.close();
  await store?.close();
  await cluster?.stop();
}, 60_000);

/** REST sends through nginx at a steady rate, with every outcome and its latency. */
class RestTraffic {
  readonly acked = new Map<string, Message>();
  readonly unacked: Array<{ clientMsgId: string; text: string }> = [];
  readonly statuses: Record<string, number> = {};
  readonly latencies: number[] = [];
  readonly badErrors: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private n = 0;

  constructor(private readonly user: TestUser) {}

  start(rate: number) {
    this.timer = setInterval(() => {
      const clientMsgId = `rest-${(this.n += 1)}-${randomUUID()}`;
      const p = this.send(clientMsgId, `rest ${this.n}`).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, 1000 / rate);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  /** One POST; true when acknowledged (201/200 with the message). */
  async send(clientMsgId: string, text: string): Promise<void> {
    const ok = await this.sendOnce(clientMsgId, text);
    if (!ok) this.unacked.push({ clientMsgId, text });
  }

  async sendOnce(clientMsgId: string, text: string): Promise<boolean> {
    const started = performance.now();
    let status: string;
    let body = '';
    try {
      const res = await fetch(`${cluster.url}/api/chats/${chatId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text, clientMsgId }),
        signal: AbortSignal.timeout(30_000),
      });
      status = String(res.status);
      body = await res.text();
    } catch (err) {
      status = err instanceof Error && err.name === 'TimeoutError' ? 'hang' : 'network';
    }
    this.latencies.push(performance.now() - started);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status === '201' || status === '200') {
      const { message } = JSON.parse(body) as { message: Message };
      this.acked.set(clientMsgId, message);
      return true;
    }
    if (!isErrorShape(body) && this.badErrors.length < 5)
      this.badErrors.push(`${status} ${body.slice(0, 200)}`);
    return false;
  }

  /** Retries what was not acknowledged, same clientMsgId, until it is (bounded). */
  async retryUnacked(rounds = 10): Promise<number> {
    for (let round = 0; round < rounds && this.unacked.length > 0; round += 1) {
      const left = this.unacked.splice(0);
      for (const item of left)
        if (!(await this.sendOnce(item.clientMsgId, item.text))) this.unacked.push(item);
      if (this.unacked.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    return this.unacked.length;
  }
}

function isErrorShape(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string';
  } catch {
    return false;
  }
}

async function settle(traffic: Traffic, rest: RestTraffic, storedBefore: number) {
  await Promise.all([traffic.stop(), rest.stop()]);
  const unackedSocket = traffic.unacked.length;
  const unackedRest = rest.unacked.length;
  const socketCodes = { ...traffic.errorCodes };
  const stillSocket = await traffic.retryUnacked(10);
  const stillRest = await rest.retryUnacked();
  const stored = await store.messages(chatId);
  const acked = new Map([...traffic.acked, ...rest.acked]);
  await waitFor(() => {
    if (!clients.every((c) => c.contiguous(chatId) >= stored.length)) throw new Error('converging');
  }, 10_000).catch(() => undefined);
  await Promise.all(clients.map((c) => c.settled()));
  await Promise.all(clients.map((c) => c.syncNow()));
  const result = verdict(clients, acked, new Map([[chatId, await store.messages(chatId)]]));
  return {
    unackedSocket,
    unackedRest,
    socketCodes,
    stillSocket: stillSocket.length,
    stillRest,
    stored: stored.length - storedBefore,
    result,
  };
}

/** The figures both chat-api cases report about what was sent, acknowledged, stored and delivered. */
function outcomeFigures(
  traffic: Traffic,
  rest: RestTraffic,
  settled: Awaited<ReturnType<typeof settle>>,
  crashes: ReturnType<typeof crashed>,
) {
  return {
    restLatencyMaxMs: ms(Math.max(...rest.latencies)),
    socketAckMaxMs: ms(Math.max(...traffic.ackLatencies)),
    errorsNotInErrorShape: rest.badErrors,
    unacked: settled.unackedSocket + settled.unackedRest,
    unackedAfterRetry: settled.stillSocket + settled.stillRest,
    acked: settled.result.acked,
    stored: settled.stored,
    lost: settled.result.lostInStore + settled.result.lostAtClients,
    duplicates: settled.result.duplicatesStored + settled.result.duplicateDeliveries,
    seqGapFree: settled.result.seqGapFree,
    crashes,
    problems: settled.result.problems,
  };
}

test('chat-api restarts (SIGTERM and SIGKILL) mid-stream: sends succeed or fail clearly, none acknowledged is lost', async () => {
  const storedBefore = (await store.messages(chatId)).length;
  const traffic = new Traffic(clients, RATE, 5000);
  const rest = new RestTraffic(alice);
  traffic.start();
  rest.start(REST_RATE);
  await traffic.ackedAtLeast(RATE * 2);

  const downtimes: number[] = [];
  for (const how of ['stop', 'kill'] as const) {
    const down = performance.now();
    await (how === 'stop' ? chatApi.stop() : chatApi.kill());
    await new Promise((r) => setTimeout(r, DOWN_MS));
    chatApi = await spawnChatApiLike(cluster, { mongoUrl: storeUrlVia(cluster.mongoUrl, proxy.port) });
    const before = traffic.acked.size;
    await traffic.ackedAtLeast(before + RATE);
    downtimes.push(performance.now() - down);
  }
  const settled = await settle(traffic, rest, storedBefore);
  const crashes = crashed([cluster.auth, cluster.gateways[0]!, ...cluster.realtime, chatApi]);
  report('chat-api-restart', {
    restarts: ['SIGTERM', 'SIGKILL'],
    downMs: DOWN_MS,
    sendsBackAfterMs: downtimes.map(ms),
    socketAttempts: traffic.attempts,
    restAttempts: Object.values(rest.statuses).reduce((a, b) => a + b, 0),
    socketErrorCodes: settled.socketCodes,
    restStatuses: rest.statuses,
    restLatencyP99Ms: ms(percentile(rest.latencies, 99)),
    ...outcomeFigures(traffic, rest, settled, crashes),
  });
  expect(settled.socketCodes.internal_error ?? 0).toBe(0);
  expect(Object.keys(rest.statuses).filter((s) => !['200', '201', '502', '503', '504'].includes(s))).toEqual(
    [],
  );
  expect(rest.badErrors).toEqual([]);
  expect(Math.max(...rest.latencies)).toBeLessThan(HANG_MS);
  expect(Math.max(...traffic.ackLatencies)).toBeLessThan(HANG_MS);
  expect(settled.stillSocket + settled.stillRest).toBe(0);
  expect(settled.result.problems).toEqual([]);
  expect(settled.result.lostInStore).toBe(0);
  expect(settled.result.duplicatesStored).toBe(0);
  expect(settled.result.duplicateDeliveries).toBe(0);
  expect(settled.result.seqGapFree).toBe(true);
  expect(crashes).toEqual([]);
}, 180_000);

test('a slow, then stalled store: the gateway answers 504 in the error shape in time, acks fail clearly, nothing acknowledged is lost', async () => {
  const storedBefore = (await store.messages(chatId)).length;
  const traffic = new Traffic(clients, RATE, 10_000);
  const rest = new RestTraffic(bob);
  const phases: Record<
    string,
    {
      restStatuses: Record<string, number>;
      restP99Ms: number;
      restMaxMs: number;
      socketCodes: Record<string, number>;
      socketAcked: number;
    }
  > = {};
  const phase = async (name: string, delayMs: number, durationMs: number) => {
    const restBefore = { statuses: { ...rest.statuses }, latencies: rest.latencies.length };
    const socketBefore = { codes: { ...traffic.errorCodes }, acked: traffic.acked.size };
    proxy.setDelay(delayMs);
    await new Promise((r) => setTimeout(r, durationMs));
    const diff = (now: Record<string, number>, then: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(now)
          .map(([k, v]) => [k, v - (then[k] ?? 0)])
          .filter(([, v]) => Number(v) > 0),
      );
    const latencies = rest.latencies.slice(restBefore.latencies);
    phases[name] = {
      restStatuses: diff(rest.statuses, restBefore.statuses),
      restP99Ms: ms(percentile(latencies, 99)),
      restMaxMs: ms(Math.max(0, ...latencies)),
      socketCodes: diff(traffic.errorCodes, socketBefore.codes),
      socketAcked: traffic.acked.size - socketBefore.acked,
    };
  };
  traffic.start();
  rest.start(REST_RATE);
  await phase('normal', 0, 2000);
  await phase('slow (50 ms each way)', 50, SLOW_PHASE_MS);
  await phase('stalled (1.5 s each way)', 1500, STALL_PHASE_MS);
  await phase('recovered', 0, 3000);
  const settled = await settle(traffic, rest, storedBefore);
  const crashes = crashed([cluster.auth, cluster.gateways[0]!, ...cluster.realtime, chatApi]);
  report('slow-store', {
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
    phases,
    ...outcomeFigures(traffic, rest, settled, crashes),
  });
  expect(settled.socketCodes.no_ack ?? 0).toBe(0);
  expect(Math.max(...traffic.ackLatencies)).toBeLessThan(HANG_MS);
  const stalled = phases['stalled (1.5 s each way)']!;
  expect(stalled.restStatuses['504'] ?? 0).toBeGreaterThan(0);
  expect(stalled.restMaxMs).toBeLessThan(HANG_MS);
  expect(Object.keys(rest.statuses).filter((s) => !['200', '201', '502', '503', '504'].includes(s))).toEqual(
    [],
  );
  expect(rest.badErrors).toEqual([]);
  expect(settled.socketCodes.internal_error ?? 0).toBe(0);
  expect(settled.stillSocket + settled.stillRest).toBe(0);
  expect(settled.result.problems).toEqual([]);
  expect(settled.result.lostInStore).toBe(0);
  expect(settled.result.duplicatesStored).toBe(0);
  expect(settled.result.seqGapFree).toBe(true);
  expect(crashes).toEqual([]);
}, 180_000);
