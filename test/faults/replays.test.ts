import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Message } from '@cohort/common';
import {
  apiAs,
  collectMessages,
  connectSocket,
  registerUser,
  waitFor,
  type ChatSocket,
  type TestUser,
} from '@cohort/testkit';
import { cidsByReplica, startFaultCluster, type FaultCluster } from './support/cluster-kit';
import { report } from './support/report';
import { bySize } from './support/size';
import { openStore, type StoreProbe } from './support/store';

/**
 * Case 4: every send retried 1–5 times, over different replicas (sockets pinned by sticky cid) and over REST,
 * one after another or all at once: exactly one stored message per clientMsgId, the same message in every ack,
 * and each message delivered once to every member socket.
 */
const MESSAGES = bySize(100, 1000);
const REPLICAS = ['realtime-1', 'realtime-2', 'realtime-3'];

let cluster: FaultCluster;
let store: StoreProbe;
let sender: TestUser;
let reader: TestUser;
let chatId: string;
/** The sender's sockets, one per replica. */
const senderSockets: ChatSocket[] = [];
const readerSockets: ChatSocket[] = [];

beforeAll(async () => {
  cluster = await startFaultCluster({ realtimeReplicas: 3, gateways: 2 });
  store = await openStore(cluster.mongoUrl);
  [sender, reader] = await Promise.all([
    registerUser(cluster.url, 'sender'),
    registerUser(cluster.url, 'reader'),
  ]);
  chatId = (await apiAs(cluster.url, sender).createGroup('replays', [reader.user.id])).id;
  const cids = await cidsByReplica(cluster.url, REPLICAS, 2);
  for (const replica of REPLICAS) {
    const [a, b] = cids.get(replica)!;
    senderSockets.push(await connectSocket(cluster.url, sender, { cid: a! }));
    readerSockets.push(await connectSocket(cluster.url, reader, { cid: b! }));
  }
}, 90_000);

afterAll(async () => {
  for (const s of [...senderSockets, ...readerSockets]) s.close();
  await store?.close();
  await cluster?.stop();
}, 60_000);

/** One way of delivering a send: a socket on a given replica, or REST through nginx. */
type Channel = { via: 'socket'; replica: number } | { via: 'rest' };

const channelArb: fc.Arbitrary<Channel> = fc.oneof(
  fc.record({ via: fc.constant('socket' as const), replica: fc.nat({ max: REPLICAS.length - 1 }) }),
  fc.record({ via: fc.constant('rest' as const) }),
);

interface Plan {
  attempts: Channel[];
  concurrent: boolean;
}
const planArb: fc.Arbitrary<Plan> = fc.record({
  attempts: fc.array(channelArb, { minLength: 1, maxLength: 5 }),
  concurrent: fc.boolean(),
});

type AttemptResult = { ok: true; message: Message; created?: boolean } | { ok: false; error: string };

async function attempt(channel: Channel, text: string, clientMsgId: string): Promise<AttemptResult> {
  if (channel.via === 'socket') {
    const ack = await senderSockets[channel.replica]!.timeout(10_000).emitWithAck('chat:send', {
      chatId,
      text,
      clientMsgId,
    });
    return ack.ok ? { ok: true, message: ack.message } : { ok: false, error: ack.error.code };
  }
  const res = await fetch(`${cluster.url}/api/chats/${chatId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sender.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text, clientMsgId }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { message?: Message; error?: { code: string } };
  if ((res.status === 201 || res.status === 200) && body.message) {
    return { ok: true, message: body.message, created: res.status === 201 };
  }
  return { ok: false, error: `${res.status} ${body.error?.code ?? ''}` };
}

test('a send retried over replicas and REST is stored once, acked with the same message and delivered once', async () => {
  const inboxes = readerSockets.concat(senderSockets).map((s) => collectMessages(s));
  const plans = fc.sample(planArb, { numRuns: MESSAGES, seed: Number(process.env.FAULTS_SEED ?? 11) });
  const byClientMsgId = new Map<string, { plan: Plan; results: AttemptResult[] }>();

  // A few sends in flight at once, as many clients would: replays race with other messages too.
  const queue = plans.map((plan, i) => ({
    plan,
    clientMsgId: `replay-${i}-${randomUUID()}`,
    text: `replay ${i}`,
  }));
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const { plan, clientMsgId, text } = item;
        const results = plan.concurrent
          ? await Promise.all(plan.attempts.map((c) => attempt(c, text, clientMsgId)))
          : await plan.attempts.reduce<Promise<AttemptResult[]>>(
              async (done, c) => [...(await done), await attempt(c, text, clientMsgId)],
              Promise.resolve([]),
            );
        byClientMsgId.set(clientMsgId, { plan, results });
      }
    }),
  );

  const stored = await store.messages(chatId);
  const storedPerClientMsgId = new Map<string, number>();
  for (const m of stored)
    storedPerClientMsgId.set(m.clientMsgId, (storedPerClientMsgId.get(m.clientMsgId) ?? 0) + 1);
  let attempts = 0;
  let failedAttempts = 0;
  let idMismatches = 0;
  let restCreated = 0;
  const problems: unknown[] = [];
  for (const [clientMsgId, { plan, results }] of byClientMsgId) {
    attempts += results.length;
    failedAttempts += results.filter((r) => !r.ok).length;
    restCreated += results.filter((r) => r.ok && r.created).length;
    const ids = new Set(results.flatMap((r) => (r.ok ? [r.message.id] : [])));
    const storedCount = storedPerClientMsgId.get(clientMsgId) ?? 0;
    if (ids.size > 1) idMismatches += 1;
    const created = results.filter((r) => r.ok && r.created).length;
    if (storedCount !== 1 || ids.size !== 1 || created > 1 || results.some((r) => !r.ok)) {
      if (problems.length < 5) problems.push({ clientMsgId, plan, results, storedCount });
    }
  }
  const seqs = stored.map((m) => m.seq);

  // Every member socket receives every message exactly once (replays publish nothing).
  await waitFor(() => {
    if (!inboxes.every((inbox) => inbox.byId.size >= stored.length)) throw new Error('still delivering');
  }, 20_000);
  const liveDuplicates = inboxes.reduce((sum, inbox) => sum + inbox.duplicates, 0);

  report('replays', {
    messages: MESSAGES,
    attempts,
    failedAttempts,
    stored: stored.length,
    duplicatesStored: stored.length - storedPerClientMsgId.size,
    idMismatches,
    restCreatedAnswers: restCreated,
    liveDuplicates,
    seqGapFree: seqs.every((s, i) => s === i + 1),
    problems,
  });
  expect(problems).toEqual([]);
  expect(stored.length).toBe(MESSAGES);
  expect(storedPerClientMsgId.size).toBe(MESSAGES);
  expect(idMismatches).toBe(0);
  expect(seqs).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
  expect(liveDuplicates).toBe(0);
}, 180_000);
