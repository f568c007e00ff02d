import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Chat, Message } from '@cohort/common';
import { spawnService, waitFor, type ServiceProcess } from '@cohort/testkit';
import { client, collect, connect, request, type TestClient } from './helpers/clients';
import { startStack, type Stack, type TestUser } from './helpers/stack';
import { startTcpBalancer, type TcpBalancer } from './helpers/tcp-proxy';

jest.setTimeout(120_000);

/**
 * A client as the web client behaves: it keeps every message it sees (deduped by id), and after each (re)connect
 * asks `chat:sync` for everything above the highest seq it holds without a gap.
 */
class ChatClient {
  readonly socket: TestClient;
  readonly messages = new Map<string, Message>();
  liveDeliveries = 0;
  duplicateLiveDeliveries = 0;
  reconnects = 0;
  private readonly liveIds = new Set<string>();

  constructor(
    url: string,
    readonly user: TestUser,
    private readonly chatId: string,
  ) {
    this.socket = client(url, { token: user.token, reconnection: true });
    this.socket.on('chat:new', ({ message }) => {
      if (message.chatId !== chatId) return;
      this.liveDeliveries++;
      // Exactly once per socket connection: a repeat on one connection is a duplicate delivery.
      const key = `${this.socket.id}|${message.id}`;
      if (this.liveIds.has(key)) this.duplicateLiveDeliveries++;
      this.liveIds.add(key);
      this.messages.set(message.id, message);
    });
    this.socket.io.on('reconnect', () => this.reconnects++);
    this.socket.on('connect', () => void this.sync());
  }

  /** Highest seq held with every seq below it held too. */
  contiguousSeq(): number {
    const seqs = new Set([...this.messages.values()].map((m) => m.seq));
    let seq = 0;
    while (seqs.has(seq + 1)) seq++;
    return seq;
  }

  async sync(): Promise<void> {
    for (;;) {
      const ack = await request(
        this.socket,
        'chat:sync',
        { chatId: this.chatId, afterSeq: this.contiguousSeq() },
        10_000,
      ).catch(() => null);
      if (!ack || !ack.ok) return;
      for (const m of ack.messages) this.messages.set(m.id, m);
      if (ack.messages.length < 100) return;
    }
  }
}

async function connectedCount(replica: ServiceProcess): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('realtime_connected_sockets'));
  return Number(line?.split(' ').pop() ?? 0);
}

describe('a realtime replica dying mid-stream', () => {
  let stack: Stack;
  let replicas: ServiceProcess[];
  let balancer: TcpBalancer;
  let users: TestUser[];
  let chat: Chat;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    stack = await startStack();
    replicas = await Promise.all(
      ['rt-1', 'rt-2', 'rt-3'].map((id) =>
        spawnService({ service: 'realtime', label: id, env: stack.realtimeEnv(id) }),
      ),
    );
    balancer = await startTcpBalancer(replicas.map((r) => r.port));
    users = await Promise.all(['ann', 'ben', 'cat', 'dan'].map((n) => stack.register(n)));
    chat = await stack.createGroup(users[0]!, 'failover', users.slice(1));
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.socket.disconnect();
  });

  afterAll(async () => {
    await balancer?.close();
    await Promise.all((replicas ?? []).map((r) => r.kill()));
    await stack?.close();
  });

  it('loses no acknowledged message: clients of the killed replica reconnect elsewhere and catch up with chat:sync', async () => {
    for (let i = 0; i < 9; i++) clients.push(new ChatClient(balancer.url, users[i % users.length]!, chat.id));
    await Promise.all(clients.map((c) => connect(c.socket)));
    const counts = await Promise.all(replicas.map(connectedCount));
    expect(counts).toEqual([3, 3, 3]);

    const victim = replicas[1]!;
    const acked = new Map<string, Message>();
    const failures = new Map<string, number>();
    const progress = (atLeast: number) => () => {
      if (acked.size < atLeast)
        throw new Error(`${acked.size} acked; failures: ${JSON.stringify([...failures])}`);
    };
    const senders = clients.slice(0, 3);
    let sending = true;
    const streams = senders.map(async (sender, s) => {
      for (let i = 0; sending; i++) {
        const ack = await request(
          sender.socket,
          'chat:send',
          { chatId: chat.id, text: `${s}/${i}`, clientMsgId: `f-${randomUUID()}` },
          4000,
        ).catch(() => null);
        if (ack?.ok) acked.set(ack.message.id, ack.message);
        else failures.set(ack?.error.code ?? 'no ack', (failures.get(ack?.error.code ?? 'no ack') ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 25));
      }
    });

    await waitFor(progress(40), 20_000);
    await victim.kill();
    const ackedAtKill = acked.size;
    await waitFor(progress(ackedAtKill + 40), 30_000);
    sending = false;
    await Promise.all(streams);

    // Everyone is connected again, to the two survivors only.
    await waitFor(() => expect(clients.every((c) => c.socket.connected)).toBe(true), 20_000);
    expect(clients.filter((c) => c.reconnects > 0)).toHaveLength(3);
    expect(
      (await Promise.all([replicas[0]!, replicas[2]!].map(connectedCount))).reduce((a, b) => a + b),
    ).toBe(9);

    // A final sync on every client (chat:sync reads chat-api's store), then: every acked message held once, in a
    // gap-free seq order, and no connection ever got the same message twice.
    await Promise.all(clients.map((c) => c.sync()));
    const expected = [...acked.keys()].sort();
    for (const c of clients) {
      const held = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
      expect(expected.every((id) => c.messages.has(id))).toBe(true);
      expect(held.map((m) => m.seq)).toEqual(held.map((_, i) => held[0]!.seq + i));
      expect(c.duplicateLiveDeliveries).toBe(0);
    }
  });

  it('drains on SIGTERM: clients move to another replica without presence flicker and the process exits cleanly', async () => {
    // The replica the test above killed is swept once its presence entries expire (PRESENCE_TTL_MS): its users go
    // offline then, which is right, but must not land in this test's window. Wait until only two replicas are alive.
    const redis = new Redis(stack.redis.url);
    try {
      await waitFor(async () => expect(await redis.zcard('cohort:presence:replicas')).toBe(2), 20_000);
    } finally {
      redis.disconnect();
    }
    const survivors = [replicas[0]!, replicas[2]!];
    const leaving = survivors[0]!;
    const watcher = new ChatClient(`http://127.0.0.1:${survivors[1]!.port}`, users[0]!, chat.id);
    clients.push(watcher);
    await connect(watcher.socket);
    const presence = collect(watcher.socket, 'presence');
    const movers: ChatClient[] = [];
    for (let i = 1; i < 4; i++) {
      const c = new ChatClient(balancer.url, users[i]!, chat.id);
      clients.push(c);
      movers.push(c);
    }
    await Promise.all(movers.map((c) => connect(c.socket)));
    const onLeaving = await connectedCount(leaving);
    expect(onLeaving).toBeGreaterThan(0);

    const started = Date.now();
    await leaving.stop(10_000);
    expect(leaving.child.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);

    await waitFor(() => expect(movers.every((c) => c.socket.connected)).toBe(true), 10_000);
    expect(await connectedCount(survivors[1]!)).toBe(4);
    const marker = await request(movers[0]!.socket, 'chat:send', {
      chatId: chat.id,
      text: 'after drain',
      clientMsgId: `d-${randomUUID()}`,
    });
    expect(marker).toMatchObject({ ok: true });
    await waitFor(() => expect(watcher.messages.size).toBeGreaterThan(0));
    expect(presence.filter((p) => p.online === false)).toEqual([]);
  });
});
