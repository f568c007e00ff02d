import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Message } from '@cohort/common';
import {
  apiAs,
  connectSocket,
  freePort,
  registerUser,
  startNginx,
  waitFor,
  type ServiceProcess,
  type TestUser,
} from '@cohort/testkit';
import { crashed, spawnChatApiLike, startFaultCluster, type FaultCluster } from './support/cluster-kit';
import { report } from './support/report';
import { bySize } from './support/size';
import { ms, percentile } from './support/stats';
import { openStore, type StoreProbe } from './support/store';
import { TrackedClient } from './support/tracked-client';
import { Traffic, verdict } from './support/traffic';

/**
 * Issue 19, rolling restarts: under steady traffic through nginx (REST reads and sends, socket sends with acks),
 * auth, chat-api, each gateway and a realtime replica in turn get SIGTERM and start again on the same port. A
 * draining replica answers every send it took (or refuses it with the retryable `unavailable`): no ack is lost. The client retries as
 * the product's clients do (a failed REST call or an unacknowledged socket send, with the same clientMsgId), and
 * what it sees is measured: no request fails beyond those retries, no acknowledged message is lost or stored
 * twice, and the latency the restarts add is printed.
 */
const SOCKET_RATE = bySize(8, 20);
const REST_RATE = bySize(8, 20);
/** Traffic before the first restart and after each one (the restarted service back, the next not yet down). */
const SETTLE_MS = bySize(1500, 5000);
/** A REST call's own retries: as the web client, a short pause between attempts, for this long at most. */
const CLIENT_RETRY_MS = 8000;

let cluster: FaultCluster;
let store: StoreProbe;
let alice: TestUser;
let bob: TestUser;
let chatId: string;
const clients: TrackedClient[] = [];
/** Processes started by this file (the restarted services): stopped here, not by the cluster. */
const respawned: ServiceProcess[] = [];

beforeAll(async () => {
  // Two replicas: the sockets of the one restarted reconnect, through nginx, to the other.
  cluster = await startFaultCluster({ realtimeReplicas: 2, gateways: 2 });
  store = await openStore(cluster.mongoUrl);
  [alice, bob] = await Promise.all([registerUser(cluster.url, 'alice'), registerUser(cluster.url, 'bob')]);
  chatId = (await apiAs(cluster.url, alice).createGroup('rolling restart', [bob.user.id])).id;
  // Eight sockets over two replicas (nginx hashes each socket's random cid): the restarted one holds some.
  for (const user of [alice, bob, alice, bob, alice, bob, alice, bob]) {
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
  await Promise.all(respawned.map((p) => p.stop()));
  await store?.close();
  await cluster?.stop();
}, 60_000);

interface CallOutcome {
  ok: boolean;
  attempts: number;
  /** From the first attempt to the final answer, retries included. */
  latencyMs: number;
  /** Statuses (or `network`) of the attempts that failed. */
  failures: string[];
  notErrorShape: string[];
  message?: Message;
}

/** One REST call as a client makes it: retried on a 5xx or a network failure, the same body each time. */
async function callWithRetries(
  user: TestUser,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<CallOutcome> {
  const started = performance.now();
  const outcome: CallOutcome = { ok: false, attempts: 0, latencyMs: 0, failures: [], notErrorShape: [] };
  while (performance.now() - started < CLIENT_RETRY_MS) {
    outcome.attempts += 1;
    let status: string;
    let text = '';
    try {
      const res = await fetch(`${cluster.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${user.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      status = String(res.status);
      text = await res.text();
      if (res.ok) {
        outcome.ok = true;
        if (method === 'POST') outcome.message = (JSON.parse(text) as { message: Message }).message;
        break;
      }
    } catch {
      status = 'network';
    }
    outcome.failures.push(status === 'network' ? status : `${status} ${errorMessageOf(text)}`);
    if (status !== 'network' && !isErrorShape(text))
      outcome.notErrorShape.push(`${status} ${text.slice(0, 120)}`);
    if (status !== 'network' && Number(status) < 500) break;
    await new Promise((r) => setTimeout(r, 250 + Math.random() * 250));
  }
  outcome.latencyMs = performance.now() - started;
  return outcome;
}

/** The error's message (which names who answered: nginx or a gateway, and which service was away). */
function errorMessageOf(body: string): string {
  try {
    return (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body.slice(0, 60);
  } catch {
    return body.slice(0, 60);
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

/** REST traffic at a steady rate: message sends (clientMsgId), message reads, and `/api/auth/me` (auth). */
class RestTraffic {
  readonly outcomes: Array<CallOutcome & { kind: string; at: number }> = [];
  readonly acked = new Map<string, Message>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private n = 0;

  start(rate: number) {
    this.timer = setInterval(() => {
      const n = (this.n += 1);
      const user = n % 2 ? alice : bob;
      const kinds = ['send', 'read', 'me'] as const;
      const kind = kinds[n % kinds.length]!;
      const at = performance.now();
      const clientMsgId = `rest-${n}-${randomUUID()}`;
      const call =
        kind === 'send'
          ? callWithRetries(user, 'POST', `/api/chats/${chatId}/messages`, { text: `rest ${n}`, clientMsgId })
          : kind === 'read'
            ? callWithRetries(user, 'GET', `/api/chats/${chatId}/messages?after=0&limit=5`)
            : callWithRetries(user, 'GET', '/api/auth/me');
      const p = call
        .then((outcome) => {
          this.outcomes.push({ ...outcome, kind, at });
          if (outcome.message) this.acked.set(clientMsgId, outcome.message);
        })
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, 1000 / rate);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }
}

const pause = (msToWait: number) => new Promise((r) => setTimeout(r, msToWait));

test('restarting auth, chat-api, each gateway and a realtime replica under load: no failure beyond retries, nothing lost', async () => {
  // An ack that comes late is not lost: a client waits 10 s before it counts a send as unanswered (the ack
  // latencies, in the figures, show how late; a send's chat-api call waits out a restart within its retry budget).
  const traffic = new Traffic(clients, SOCKET_RATE, 10_000);
  const rest = new RestTraffic();
  traffic.start();
  rest.start(REST_RATE);
  await pause(SETTLE_MS);
  const baselineUntil = performance.now();

  const restarts: Array<{
    service: string;
    stopMs: number;
    startMs: number;
    from: number;
    to: number;
  }> = [];
  const restart = async (
    service: string,
    stop: () => Promise<void>,
    start: () => Promise<ServiceProcess>,
  ) => {
    const from = performance.now();
    await stop();
    const stopped = performance.now();
    respawned.push(await start());
    const up = performance.now();
    await pause(SETTLE_MS);
    restarts.push({
      service,
      stopMs: Math.round(stopped - from),
      startMs: Math.round(up - stopped),
      from,
      to: performance.now(),
    });
  };
  await restart(
    'auth',
    () => cluster.auth.stop(),
    () => cluster.respawn('auth'),
  );
  await restart(
    'chat-api',
    () => cluster.chatApi.stop(),
    () => spawnChatApiLike(cluster),
  );
  for (const [i, gateway] of cluster.gateways.entries()) {
    await restart(
      `gateway-${i + 1}`,
      () => gateway.stop(),
      () => cluster.respawn(`gateway-${i + 1}`),
    );
  }
  // A realtime replica: its sockets are measured from SIGTERM until every client is connected again and holds
  // every message stored before it (caught up).
  const unackedBeforeRealtime = traffic.unacked.length;
  let realtimeBack: Promise<number> | undefined;
  await restart(
    'realtime-1',
    async () => {
      const storedAtStop = (await store.messages(chatId)).length;
      // Measured from SIGTERM, and only once the replica's sockets have been let go (it drains first).
      let dropped = 0;
      for (const c of clients) c.socket.once('disconnect', () => (dropped += 1));
      const from = performance.now();
      let stopped = false;
      const stopping = cluster.realtime[0]!.stop().finally(() => (stopped = true));
      realtimeBack = (async () => {
        // (If nginx happened to place no client on this replica, nothing drops: then from its exit.)
        await waitFor(() => {
          if (dropped === 0 && !stopped) throw new Error('the replica still holds its sockets');
        }, 20_000);
        await waitFor(() => {
          if (!clients.every((c) => c.socket.connected && c.contiguous(chatId) >= storedAtStop))
            throw new Error('reconnecting or catching up');
        }, 20_000);
        return performance.now() - from;
      })();
      await stopping;
    },
    () => cluster.respawn('realtime-1'),
  );
  const realtimeBackMs = await realtimeBack!.catch(() => Number.POSITIVE_INFINITY);
  const unackedInRealtimeRestart = traffic.unacked.slice(unackedBeforeRealtime);

  await Promise.all([traffic.stop(), rest.stop()]);
  const socketCodes = { ...traffic.errorCodes };
  const unackedSocket = traffic.unacked.length;
  // A send with no answer is a lost ack only if the server stored it: then the client was never told. One that was
  // still on the wire when its connection closed never reached a handler; the client sees the disconnect and sends
  // it again (below), as Socket.IO clients must for any emit cut by a disconnect.
  const storedBeforeRetries = new Set((await store.messages(chatId)).map((m) => m.clientMsgId));
  const lostAck = (a: { reason: string; clientMsgId: string }) =>
    a.reason === 'no_ack' && storedBeforeRetries.has(a.clientMsgId);
  const cutByClose = (a: { reason: string; clientMsgId: string }) =>
    a.reason === 'no_ack' && !storedBeforeRetries.has(a.clientMsgId);
  const socketLostAcks = traffic.unacked.filter(lostAck).length;
  const realtimeLostAcks = unackedInRealtimeRestart.filter(lostAck).length;
  const socketSendsCutByClose = traffic.unacked.filter(cutByClose).length;
  const stillSocket = await traffic.retryUnacked(10);
  const stored = await store.messages(chatId);
  await waitFor(() => {
    if (!clients.every((c) => c.contiguous(chatId) >= stored.length)) throw new Error('converging');
  }, 10_000).catch(() => undefined);
  await Promise.all(clients.map((c) => c.settled()));
  await Promise.all(clients.map((c) => c.syncNow()));
  const acked = new Map([...traffic.acked, ...rest.acked]);
  const result = verdict(clients, acked, new Map([[chatId, await store.messages(chatId)]]));

  const baseline = rest.outcomes.filter((o) => o.at < baselineUntil).map((o) => o.latencyMs);
  const during = rest.outcomes.filter((o) => o.at >= baselineUntil).map((o) => o.latencyMs);
  const failedFirst = rest.outcomes.filter((o) => o.failures.length > 0);
  const failedFinally = rest.outcomes.filter((o) => !o.ok);
  const firstFailures: Record<string, number> = {};
  for (const o of failedFirst)
    for (const f of o.failures) firstFailures[`${o.kind} ${f}`] = (firstFailures[`${o.kind} ${f}`] ?? 0) + 1;
  const crashes = crashed([...respawned, ...cluster.realtime.slice(1)]);
  const figures = {
    restarts: restarts.map(({ service, stopMs, startMs, from, to }) => {
      const inWindow = rest.outcomes.filter((o) => o.at >= from && o.at < to);
      return {
        service,
        stopMs,
        startMs,
        restCalls: inWindow.length,
        restCallsThatNeededARetry: inWindow.filter((o) => o.failures.length > 0).length,
        restP99Ms: ms(
          percentile(
            inWindow.map((o) => o.latencyMs),
            99,
          ),
        ),
        restFirstFailures: inWindow.flatMap((o) => o.failures.map((f) => `${o.kind} ${f}`)).slice(0, 5),
      };
    }),
    restCalls: rest.outcomes.length,
    restFailedAfterRetries: failedFinally.length,
    restCallsThatNeededARetry: failedFirst.length,
    restFailedAttempts: firstFailures,
    restNotErrorShape: rest.outcomes.flatMap((o) => o.notErrorShape).slice(0, 5),
    restP99BaselineMs: ms(percentile(baseline, 99)),
    restP99DuringMs: ms(percentile(during, 99)),
    restP99AddedMs: ms(Math.max(0, percentile(during, 99) - percentile(baseline, 99))),
    restMaxMs: ms(Math.max(...rest.outcomes.map((o) => o.latencyMs))),
    socketSends: traffic.attempts,
    socketUnacked: unackedSocket,
    socketErrorCodes: socketCodes,
    socketUnackedAfterRetries: stillSocket.length,
    socketAckP99Ms: ms(percentile(traffic.ackLatencies, 99)),
    socketLostAcks,
    socketSendsCutByClose,
    realtimeRestartLostAcks: realtimeLostAcks,
    realtimeSocketsBackAndCaughtUpMs: ms(realtimeBackMs),
    acked: result.acked,
    lost: result.lostInStore + result.lostAtClients,
    duplicates: result.duplicatesStored + result.duplicateDeliveries,
    seqGapFree: result.seqGapFree,
    crashes,
    problems: result.problems,
  };
  report('rolling-restart', figures);

  expect(figures.restNotErrorShape).toEqual([]);
  expect(failedFinally.map((o) => `${o.kind}: ${o.failures.join(',')}`)).toEqual([]);
  expect(stillSocket.map((a) => a.reason)).toEqual([]);
  expect(result.problems).toEqual([]);
  expect(result.lostInStore + result.lostAtClients).toBe(0);
  expect(result.duplicatesStored + result.duplicateDeliveries).toBe(0);
  expect(result.seqGapFree).toBe(true);
  expect(crashes).toEqual([]);
  // Every socket send a server took was answered: acknowledged, or refused with a retryable code; none that was
  // stored waited for an ack that never came (a replica drains the sends it took before closing).
  expect(figures.socketLostAcks).toBe(0);
  expect(realtimeLostAcks).toBe(0);
  expect(realtimeBackMs).toBeLessThan(Number.POSITIVE_INFINITY);
  // A gateway restarting is invisible: nginx sends its requests to the other one, and a client retry is needed
  // at most once over both restarts. Every run but one needed none; in one CI rehearsal (2026-12-05) a single send
  // got nginx's own JSON 502 during gateway-2's restart and succeeded on its retry: a race not yet explained (the
  // send location retries non-idempotent requests on another gateway), reported in the figures' restFirstFailures.
  // Before issue 19 every call failed for about 6 s; that, or any repeat of the race, still fails here.
  const gatewayRetries = figures.restarts
    .filter((r) => r.service.startsWith('gateway'))
    .reduce((sum, r) => sum + r.restCallsThatNeededARetry, 0);
  expect(gatewayRetries).toBeLessThanOrEqual(1);
}, 180_000);

test("nginx's own 502/504 are the JSON error shape, never its HTML page", async () => {
  const dead = await freePort();
  const port = await freePort();
  const nginx = await startNginx({
    listen: `127.0.0.1:${port}`,
    realtime: [`127.0.0.1:${dead}`],
    gateways: [`127.0.0.1:${dead}`],
    webRoot: tmpdir(),
  });
  try {
    for (const [method, path] of [
      ['GET', '/api/chats'],
      ['POST', '/api/chats/665f1c2b9a1e4b3c2d1f0a9e/messages'],
      ['GET', '/socket.io/?EIO=4&transport=polling'],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}),
      });
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.json()).toEqual({
        error: { code: 'upstream_unavailable', message: expect.any(String) },
      });
    }
  } finally {
    await nginx.stop();
  }
}, 30_000);
