import { apiAs, connectSocket, registerUser, waitFor, type TestUser } from '@cohort/testkit';
import { crashed, startFaultCluster, type FaultCluster } from './support/cluster-kit';
import { report } from './support/report';
import { bySize } from './support/size';
import { ms, percentile } from './support/stats';
import { openStore, type StoreProbe } from './support/store';
import { TrackedClient } from './support/tracked-client';
import { Traffic, verdict } from './support/traffic';

/**
 * Case 1: three realtime replicas, many clients spread over them by nginx, a steady send rate; one replica is
 * SIGKILLed mid-stream. Every acknowledged message is stored; after reconnect + chat:sync every member holds
 * every message exactly once, in seq order; the catch-up time (disconnect → synced) is measured.
 */
const USERS = bySize(20, 100);
const CLIENTS = bySize(60, 300);
const CHATS = bySize(1, 3);
const RATE = bySize(20, 50);
const WARMUP_ACKS = bySize(40, 200);
const ACKS_AFTER_KILL = bySize(160, 1000);

let cluster: FaultCluster;
let store: StoreProbe;
const clients: TrackedClient[] = [];

beforeAll(async () => {
  cluster = await startFaultCluster({ realtimeReplicas: 3, gateways: 1 });
  store = await openStore(cluster.mongoUrl);
  const users: TestUser[] = [];
  for (let i = 0; i < USERS; i += 10) {
    users.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, USERS - i) }, (_, k) => registerUser(cluster.url, `u${i + k}`)),
      )),
    );
  }
  const chatOf: string[] = [];
  for (let c = 0; c < CHATS; c += 1) {
    const members = users.filter((_, i) => i % CHATS === c);
    const [owner, ...rest] = members;
    const chat = await apiAs(cluster.url, owner!).createGroup(
      `kill ${c}`,
      rest.map((u) => u.user.id),
    );
    members.forEach((u) => (chatOf[users.indexOf(u)] = chat.id));
  }
  for (let i = 0; i < CLIENTS; i += 20) {
    clients.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(20, CLIENTS - i) }, async (_, k) => {
          const index = (i + k) % USERS;
          const user = users[index]!;
          return new TrackedClient(
            await connectSocket(cluster.url, user),
            user,
            [chatOf[index]!],
            `client ${i + k}`,
          );
        }),
      )),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.socket.close();
  await store?.close();
  await cluster?.stop();
}, 60_000);

test('a replica SIGKILLed mid-stream loses no acknowledged message and its clients catch up exactly once, in order', async () => {
  const traffic = new Traffic(clients, RATE);
  traffic.start();
  await traffic.ackedAtLeast(WARMUP_ACKS);
  const victim = cluster.realtime[1]!;
  await victim.kill();
  const ackedAtKill = traffic.acked.size;
  await traffic.ackedAtLeast(ackedAtKill + ACKS_AFTER_KILL, 60_000);
  await traffic.stop();
  const unackedAttempts = traffic.unacked.length;
  const errorCodes = { ...traffic.errorCodes };

  await waitFor(() => {
    const down = clients.filter((c) => !c.socket.connected).length;
    if (down > 0) throw new Error(`${down} clients still reconnecting`);
  }, 30_000);
  await Promise.all(clients.map((c) => c.settled()));
  const stillUnacked = await traffic.retryUnacked();

  const chatIds = [...new Set(clients.flatMap((c) => c.chatIds))];
  const storedByChat = new Map(
    await Promise.all(chatIds.map(async (id) => [id, await store.messages(id)] as const)),
  );
  const storedTotal = [...storedByChat.values()].reduce((s, m) => s + m.length, 0);
  // Live delivery of the last messages (and of the retried ones) is still under way: wait for it, bounded.
  const holds = () =>
    clients.every((c) => c.chatIds.every((id) => c.contiguous(id) >= storedByChat.get(id)!.length));
  await waitFor(() => {
    if (!holds()) throw new Error('still delivering');
  }, 15_000).catch(() => undefined);
  const missedLive = clients.filter((c) =>
    c.chatIds.some((id) => c.contiguous(id) < storedByChat.get(id)!.length),
  ).length;
  // What a client does when it suspects a gap: sync. After it, nothing may be missing.
  if (missedLive > 0) await Promise.all(clients.map((c) => c.syncNow()));

  const result = verdict(clients, traffic.acked, storedByChat);
  const victims = clients.filter((c) => c.disconnects > 0);
  const catchUps = victims.flatMap((c) => c.catchUpsMs);
  const crashes = crashed([
    cluster.auth,
    cluster.chatApi,
    ...cluster.gateways,
    ...cluster.realtime.filter((r) => r !== victim),
  ]);
  report('replica-kill', {
    replicas: 3,
    clients: CLIENTS,
    users: USERS,
    chats: CHATS,
    ratePerSecond: RATE,
    clientsOnKilledReplica: victims.length,
    attempts: traffic.attempts,
    acked: result.acked,
    stored: storedTotal,
    unackedAttempts,
    unackedAfterRetry: stillUnacked.length,
    errorCodes,
    lost: result.lostInStore + result.lostAtClients,
    duplicates: result.duplicatesStored + result.duplicateDeliveries,
    outOfOrderLive: result.outOfOrderLive,
    seqGapFree: result.seqGapFree,
    clientsMissingLiveBeforeFinalSync: missedLive,
    catchUpP50Ms: ms(percentile(catchUps, 50)),
    catchUpP99Ms: ms(percentile(catchUps, 99)),
    catchUpMaxMs: ms(Math.max(...catchUps)),
    syncFailures: victims.flatMap((c) => c.syncFailures).slice(0, 3),
    crashes,
    problems: result.problems,
  });
  expect(victims.length).toBeGreaterThan(0);
  expect(catchUps.length).toBeGreaterThanOrEqual(victims.length);
  expect(stillUnacked).toEqual([]);
  expect(result.problems).toEqual([]);
  expect(result.lostInStore).toBe(0);
  expect(result.lostAtClients).toBe(0);
  expect(result.duplicatesStored).toBe(0);
  expect(result.duplicateDeliveries).toBe(0);
  expect(result.seqGapFree).toBe(true);
  expect(storedTotal).toBe(traffic.acked.size);
  expect(crashes).toEqual([]);
}, 180_000);
