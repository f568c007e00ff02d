import { randomUUID } from 'node:crypto';
import { ASSISTANT_USER_ID } from '@cohort/common';
import {
  apiAs,
  collectMessages,
  connectSocket,
  logIn,
  registerUser,
  socketSend,
  syncAll,
  waitFor,
  type ChatSocket,
  type TestUser,
} from '@cohort/testkit';

/** What the checks through the edge saw, for the report. */
export interface ChatFindings {
  socketsPerReplica: Record<string, number>;
  deliveredAcrossReplicas: number;
  stoppedReplica: string;
  socketsOnStoppedReplica: number;
  recoveredSockets: number;
  /** The slowest dropped socket's gap between its disconnect and its reconnect. */
  recoverySeconds: number;
  /** How long `docker-compose stop` took to return (the replica's drain and podman's teardown). */
  stopCommandSeconds: number;
  deliveredAfterRecovery: number;
  socketsAfterRecovery: Record<string, number>;
  missingAfterSync: number;
}

/** The group the chat check made: alice sent every message, bob only received them (his read marker is at 0). */
export interface EdgeSession {
  asker: TestUser;
  reader: TestUser;
  chatId: string;
}

/** How long the topology took, once every container was healthy, to answer calls that cross services. */
export interface FirstCallFindings {
  seconds: number;
  attempts: number;
  /** The distinct failures seen before the first full success. */
  failures: string[];
}

/** Retries `body` every 2 s until it succeeds or `timeoutMs` has passed, collecting the distinct failures. */
async function retryEvery2s<T>(
  what: string,
  timeoutMs: number,
  failures: Set<string>,
  body: () => Promise<T>,
): Promise<{ value: T; attempts: number }> {
  const started = Date.now();
  for (let attempts = 1; ; attempts += 1) {
    try {
      return { value: await body(), attempts };
    } catch (error) {
      failures.add(error instanceof Error ? error.message : String(error));
      if (Date.now() - started > timeoutMs)
        throw new Error(`${what}: not within ${timeoutMs / 1000} s: ${[...failures].join('; ')}`, {
          cause: error,
        });
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

/**
 * Waits until calls that cross every service hop work through the edge: register two users (edge → gateway →
 * auth; retried alone, so the wait never spends auth's per-address register limit), then create a group
 * (gateway → chat-api → auth), a socket handshake (realtime → chat-api) and a send, retried every 2 s within
 * `timeoutMs`. Healthchecks only prove each container answers locally; on this machine podman's DNS
 * (aardvark-dns) has left containers started first unable to resolve their peers' names for up to a minute
 * while the later ones start, so the figure is reported rather than assumed to be zero.
 */
export async function firstCallsThroughEdge(baseUrl: string, timeoutMs: number): Promise<FirstCallFindings> {
  const started = Date.now();
  const failures = new Set<string>();
  const users = await retryEvery2s('register through the edge', timeoutMs, failures, async () => [
    await registerUser(baseUrl, 'ready-a'),
    await registerUser(baseUrl, 'ready-b'),
  ]);
  const [a, b] = users.value;
  const crossing = await retryEvery2s(
    'a group, a handshake and a send through the edge',
    Math.max(0, timeoutMs - (Date.now() - started)),
    failures,
    async () => {
      const chat = await apiAs(baseUrl, a!).createGroup('ready', [b!.user.id]);
      const socket = await connectSocket(baseUrl, a!);
      try {
        const { ack } = await socketSend(socket, chat.id, 'ready?');
        if (!ack.ok) throw new Error(`chat:send refused: ${ack.error.code}`);
      } finally {
        socket.disconnect();
      }
    },
  );
  return {
    seconds: (Date.now() - started) / 1000,
    attempts: users.attempts + crossing.attempts - 1,
    failures: [...failures],
  };
}

/**
 * Register, log in, chat over sockets spread across the realtime replicas, then stop one replica
 * (`stopReplica`) and check its clients reconnect elsewhere, receive new messages and miss nothing after
 * `chat:sync`. `socketsPerReplica` reads each replica's realtime_connected_sockets.
 */
export async function chatThroughEdge(
  baseUrl: string,
  socketsPerReplica: () => Promise<Record<string, number>>,
  stopReplica: (replica: string) => Promise<void>,
): Promise<{ findings: ChatFindings; session: EdgeSession }> {
  const alice = await registerUser(baseUrl, 'alice');
  const bob = await registerUser(baseUrl, 'bob');
  await logIn(baseUrl, alice);
  await logIn(baseUrl, bob);
  const chat = await apiAs(baseUrl, alice).createGroup('containers', [bob.user.id]);

  const sender = await connectSocket(baseUrl, alice);
  const receivers: ChatSocket[] = [];
  for (let i = 0; i < 9; i += 1) receivers.push(await connectSocket(baseUrl, bob, { cid: randomUUID() }));
  const all = [sender, ...receivers];
  try {
    const spread = await waitFor(async () => {
      const counts = await socketsPerReplica();
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total !== all.length) throw new Error(`replicas report ${total} sockets, expected ${all.length}`);
      return counts;
    }, 10_000);
    const used = Object.entries(spread).filter(([, n]) => n > 0);
    if (used.length < 2) throw new Error(`sockets did not spread over replicas: ${JSON.stringify(spread)}`);

    const inboxes = receivers.map((socket) => collectMessages(socket));
    const first = await socketSend(sender, chat.id, 'hello across replicas');
    if (!first.ack.ok) throw new Error(`chat:send refused: ${JSON.stringify(first.ack)}`);
    const firstId = first.ack.message.id;
    await waitFor(() => {
      const missing = inboxes.filter((inbox) => !inbox.byId.has(firstId)).length;
      if (missing) throw new Error(`${missing} receivers did not get the message`);
    }, 10_000);

    // Stop the replica holding most sockets; note which sockets it drops.
    const [stoppedReplica, held] = used.sort((a, b) => b[1] - a[1])[0]!;
    // Per dropped socket: when it saw the replica go and when it was connected again (through nginx, to another).
    const droppedAt = new Map<ChatSocket, number>();
    const backAt = new Map<ChatSocket, number>();
    for (const socket of all)
      socket.once('disconnect', () => {
        droppedAt.set(socket, Date.now());
        socket.once('connect', () => backAt.set(socket, Date.now()));
      });
    const stoppedAt = Date.now();
    await stopReplica(stoppedReplica);
    const stopCommandSeconds = (Date.now() - stoppedAt) / 1000;
    // A message sent while they are away: they must get it back through chat:sync.
    const during = await apiAs(baseUrl, alice).send(chat.id, 'sent while a replica was stopping');
    await waitFor(
      () => {
        if (droppedAt.size < held) throw new Error(`${droppedAt.size}/${held} sockets saw the replica go`);
        const down = all.filter((s) => !s.connected || (droppedAt.has(s) && !backAt.has(s))).length;
        if (down) throw new Error(`${down} sockets not reconnected yet`);
      },
      60_000,
      200,
    );
    // The slowest socket's own gap, from its disconnect to its reconnect: what its user saw.
    const recoverySeconds =
      Math.max(...[...droppedAt].map(([socket, at]) => (backAt.get(socket) ?? Date.now()) - at)) / 1000;
    const after = await waitFor(
      async () => {
        const counts = await socketsPerReplica();
        if (counts[stoppedReplica]) throw new Error(`${stoppedReplica} still reports sockets`);
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        if (total !== all.length) throw new Error(`live replicas report ${total} sockets`);
        return counts;
      },
      20_000,
      500,
    );

    const second = await socketSend(sender, chat.id, 'hello after recovery');
    if (!second.ack.ok) throw new Error(`chat:send after recovery refused: ${JSON.stringify(second.ack)}`);
    const secondId = second.ack.message.id;
    await waitFor(() => {
      const missing = inboxes.filter((inbox) => !inbox.byId.has(secondId)).length;
      if (missing) throw new Error(`${missing} receivers did not get the message after recovery`);
    }, 10_000);
    let missingAfterSync = 0;
    for (const [i, socket] of receivers.entries()) {
      inboxes[i]!.merge(await syncAll(socket, chat.id));
      for (const id of [firstId, during.id, secondId]) if (!inboxes[i]!.byId.has(id)) missingAfterSync += 1;
    }
    const findings: ChatFindings = {
      socketsPerReplica: spread,
      deliveredAcrossReplicas: receivers.length,
      stoppedReplica,
      socketsOnStoppedReplica: held,
      recoveredSockets: droppedAt.size,
      recoverySeconds,
      stopCommandSeconds,
      deliveredAfterRecovery: receivers.length,
      socketsAfterRecovery: after,
      missingAfterSync,
    };
    return { findings, session: { asker: alice, reader: bob, chatId: chat.id } };
  } finally {
    for (const socket of all) socket.close();
  }
}

/** What the assistant check saw through the edge. */
export interface AssistantFindings {
  enabled: boolean;
  model: unknown;
  answerSeconds: number;
  deltas: number;
  answers: number;
  summary: string;
}

/**
 * The assistant through the edge: it reports itself enabled; added to the group, it answers a question that
 * mentions it exactly once (a trigger through Redis Streams to one of the assistant replicas, the test model's text
 * streamed as `ai:delta` to the other member's socket, then stored); and the member who has read nothing gets a
 * catch-me-up summary written by the model (gateway → an assistant replica → chat-api and the test model).
 */
export async function assistantThroughEdge(
  baseUrl: string,
  session: EdgeSession,
  expectedText: string,
): Promise<AssistantFindings> {
  const asker = apiAs(baseUrl, session.asker);
  const { assistant } = await asker.call<{ assistant: { enabled: boolean; model: unknown } }>(
    'GET',
    '/api/assistant',
  );
  if (!assistant.enabled)
    throw new Error(`the assistant reports itself disabled: ${JSON.stringify(assistant)}`);

  // The summary first: the question and its answer below would be unread for bob too, but the check is simpler
  // on the conversation the chat check left.
  const answer = await apiAs(baseUrl, session.reader).call<{ summary: string; toSeq: number }>(
    'POST',
    `/api/chats/${session.chatId}/summary`,
  );
  if (!answer.summary.includes(expectedText))
    throw new Error(`the summary is not the test model's: ${JSON.stringify(answer)}`);

  await asker.call('POST', `/api/chats/${session.chatId}/members`, { userId: ASSISTANT_USER_ID });
  const watcher = await connectSocket(baseUrl, session.reader);
  try {
    let deltas = 0;
    watcher.on('ai:delta', (event) => {
      if (event.chatId === session.chatId) deltas += 1;
    });
    const inbox = collectMessages(watcher);
    const started = Date.now();
    const question = await asker.send(session.chatId, '@cohortgpt what did we talk about?');
    const stored = await waitFor(
      () => {
        const found = [...inbox.byId.values()].filter(
          (m) => m.senderId === ASSISTANT_USER_ID && m.replyTo === question.id,
        );
        if (found.length === 0) throw new Error('no answer yet');
        return found[0]!;
      },
      60_000,
      200,
    );
    const answerSeconds = (Date.now() - started) / 1000;
    if (stored.ai?.status !== 'done' || !stored.text.includes(expectedText))
      throw new Error(`the answer is not the test model's: ${JSON.stringify(stored)}`);
    if (deltas === 0) throw new Error('the answer was stored but no ai:delta reached the other member');
    // Both assistant replicas consume the trigger streams: a second answer would show up within a lease.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const answers = (await asker.messages(session.chatId)).filter(
      (m) => m.senderId === ASSISTANT_USER_ID && m.replyTo === question.id,
    ).length;
    if (answers !== 1) throw new Error(`${answers} answers to one question`);
    return {
      enabled: assistant.enabled,
      model: assistant.model,
      answerSeconds,
      deltas,
      answers,
      summary: answer.summary,
    };
  } finally {
    watcher.close();
  }
}
