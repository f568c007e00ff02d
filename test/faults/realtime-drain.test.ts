import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { apiAs, connectSocket, registerUser, waitFor, type ChatSocket, type TestUser } from '@cohort/testkit';
import { cidsByReplica, crashed, startFaultCluster, type FaultCluster } from './support/cluster-kit';
import { report } from './support/report';
import { bySize } from './support/size';
import { openStore, type StoreProbe } from './support/store';

/**
 * Case 12 (issue 19), a realtime replica drained under a burst of socket sends: SIGTERM while its clients keep
 * several sends in flight each. The replica answers every send it took before closing (new ones it refuses with
 * the retryable `unavailable`), so no send is stored without its ack reaching the client (a lost ack), and no
 * client waits out its ack timeout. Sends the client had not got through before the transport closed fail at
 * once on the client ("disconnected") and are not stored; every unanswered send is retried with its clientMsgId
 * and stored exactly once.
 */
const CLIENTS = bySize(6, 20);
const IN_FLIGHT_PER_CLIENT = bySize(4, 8);
const LOAD_BEFORE_MS = bySize(1500, 5000);
const LOAD_AFTER_MS = bySize(2500, 5000);
const ACK_TIMEOUT_MS = 8000;

type Outcome = 'acked' | 'timeout' | 'disconnected' | `error:${string}`;

interface Send {
  socket: ChatSocket;
  clientMsgId: string;
  outcome: Outcome;
}

let cluster: FaultCluster;
let store: StoreProbe;
let chatId: string;
const sockets: ChatSocket[] = [];

beforeAll(async () => {
  cluster = await startFaultCluster({ realtimeReplicas: 2, gateways: 1 });
  store = await openStore(cluster.mongoUrl);
  const users: TestUser[] = await Promise.all(
    Array.from({ length: 3 }, (_, i) => registerUser(cluster.url, `drain${i}`)),
  );
  chatId = (
    await apiAs(cluster.url, users[0]!).createGroup(
      'drain',
      users.slice(1).map((u) => u.user.id),
    )
  ).id;
  const cids = await cidsByReplica(cluster.url, ['realtime-1'], CLIENTS);
  for (const cid of cids.get('realtime-1')!) {
    sockets.push(await connectSocket(cluster.url, users[sockets.length % users.length]!, { cid }));
  }
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await store?.close();
  await cluster?.stop();
}, 60_000);

async function sendOnce(socket: ChatSocket, clientMsgId: string): Promise<Outcome> {
  try {
    const ack = await socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('chat:send', { chatId, text: `drain ${clientMsgId}`, clientMsgId });
    return ack.ok ? 'acked' : `error:${ack.error.code}`;
  } catch (err) {
    // socket.io-client fails an ack with a timeout at once when its socket disconnects.
    return err instanceof Error && /timed out/i.test(err.message) ? 'timeout' : 'disconnected';
  }
}

test('a draining replica answers every send it took: no lost ack, no client waits out its timeout', async () => {
  const sends: Send[] = [];
  let loading = true;
  const lane = async (socket: ChatSocket) => {
    while (loading) {
      if (!socket.connected) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const send: Send = { socket, clientMsgId: `drain-${randomUUID()}`, outcome: 'timeout' };
      sends.push(send);
      send.outcome = await sendOnce(socket, send.clientMsgId);
    }
  };
  const lanes = sockets.flatMap((socket) => Array.from({ length: IN_FLIGHT_PER_CLIENT }, () => lane(socket)));
  await new Promise((r) => setTimeout(r, LOAD_BEFORE_MS));

  const stopStarted = performance.now();
  await cluster.realtime[0]!.stop();
  const stopMs = performance.now() - stopStarted;
  const exitCode = cluster.realtime[0]!.child.exitCode;
  await new Promise((r) => setTimeout(r, LOAD_AFTER_MS));
  loading = false;
  await Promise.all(lanes);

  const storedIds = new Set((await store.messages(chatId)).map((m) => m.clientMsgId));
  const count = (pick: (s: Send) => boolean) => sends.filter(pick).length;
  const unanswered = sends.filter((s) => s.outcome !== 'acked');
  const lostAcks = unanswered.filter((s) => storedIds.has(s.clientMsgId) && !s.outcome.startsWith('error:'));
  const byOutcome: Record<string, number> = {};
  for (const s of sends) byOutcome[s.outcome] = (byOutcome[s.outcome] ?? 0) + 1;

  // The client's part: every unanswered send again, same clientMsgId, once its socket is back.
  const stillFailing: string[] = [];
  for (const s of unanswered) {
    await waitFor(() => {
      if (!s.socket.connected) throw new Error('reconnecting');
    }, 20_000);
    const outcome = await sendOnce(s.socket, s.clientMsgId);
    if (outcome !== 'acked') stillFailing.push(outcome);
  }
  const stored = await store.messages(chatId);
  const perClientMsgId = new Map<string, number>();
  for (const m of stored) perClientMsgId.set(m.clientMsgId, (perClientMsgId.get(m.clientMsgId) ?? 0) + 1);
  const duplicates = [...perClientMsgId.values()].filter((n) => n > 1).length;
  const missing = sends.filter((s) => !perClientMsgId.has(s.clientMsgId)).length;

  report('realtime-drain', {
    clients: CLIENTS,
    inFlightPerClient: IN_FLIGHT_PER_CLIENT,
    sends: sends.length,
    outcomes: byOutcome,
    lostAcks: lostAcks.length,
    stoppedWithUnansweredStored: lostAcks.slice(0, 5).map((s) => `${s.clientMsgId} ${s.outcome}`),
    stopMs: Math.round(stopMs),
    exitCode,
    retriedAndStillFailing: stillFailing.length,
    stored: stored.length,
    duplicates,
    missing,
    crashes: crashed(cluster.realtime.slice(1)),
  });

  expect(count((s) => s.outcome === 'acked')).toBeGreaterThan(0);
  expect(lostAcks.map((s) => `${s.clientMsgId} ${s.outcome}`)).toEqual([]);
  expect(byOutcome.timeout ?? 0).toBe(0);
  // Refusals are the retryable kind only.
  expect(Object.keys(byOutcome).filter((o) => o.startsWith('error:') && o !== 'error:unavailable')).toEqual(
    [],
  );
  expect(exitCode).toBe(0);
  expect(stillFailing).toEqual([]);
  expect(duplicates).toBe(0);
  expect(missing).toBe(0);
  expect(crashed(cluster.realtime.slice(1))).toEqual([]);
}, 120_000);
