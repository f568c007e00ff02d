import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { startOpenAiFake, waitFor } from '@cohort/testkit';
import { parseStamps, stampChunk } from '../src/assistant-stream';
import { rampConnections } from '../src/connections';
import { ChatLoad, type LoadResult } from '../src/chat-load';
import { LightSocket, LightSocketError } from '../src/light-client';
import { ConsistentHashRing } from '../src/nginx-hash';
import { CpuMeter } from '../src/proc';
import { figures, type BenchReport, type LoadRep } from '../src/report';
import { startBareStack, type Stack } from '../src/stacks';
import { reconnectStorm } from '../src/storm';
import { ratio, Samples } from '../src/stats';

describe('Samples', () => {
  test('answers nearest-rank percentiles whatever the insertion order', () => {
    const samples = new Samples();
    for (const v of Array.from({ length: 5000 }, (_, i) => 5000 - i)) samples.add(v / 50);
    expect(samples.count).toBe(5000);
    expect(samples.percentile(50)).toBe(50);
    expect(samples.percentile(99)).toBe(99);
    expect(samples.max()).toBe(100);
  });

  test('has no percentile without samples', () => {
    expect(new Samples().percentile(50)).toBeNaN();
  });
});

describe('CpuMeter', () => {
  test('reads a process’s CPU to well under the 10-ms /proc tick', () => {
    const burn = (ms: number) => {
      const until = performance.now() + ms;
      let x = 0;
      while (performance.now() < until) x += Math.sqrt(x + 1);
      return x;
    };
    // Against getrusage (microseconds, every thread of this process): with ticks each reading would be off by up
    // to 10 ms, so three readings all within 2 ms would be luck (about 1 in 100).
    for (let trial = 0; trial < 3; trial += 1) {
      const meter = new CpuMeter([{ label: 'self', pid: process.pid }]).begin();
      const before = process.cpuUsage();
      burn(15);
      const used = process.cpuUsage(before);
      const measured = meter.end();
      expect(Math.abs(measured.cpu.self! - (used.user + used.system) / 1e6)).toBeLessThan(0.002);
    }
  });
});

describe('ratio', () => {
  test('is full ÷ bare only where both are figures a ratio means something for', () => {
    expect(ratio(5, 2)).toBe(2.5);
    // Idle-CPU differences within noise: below zero on either side, or a zero baseline, give no ratio (and so
    // cannot pass a "≤" target).
    expect(ratio(-4.28, 0.33)).toBeNaN();
    expect(ratio(5.12, -0.22)).toBeNaN();
    expect(ratio(5, 0)).toBeNaN();
  });
});

describe('figures', () => {
  const latency = (p99: number) => ({ count: 100, p50: p99 / 2, p95: p99, p99, max: p99 });
  const run = (stack: 'full' | 'bare', over: Partial<LoadResult> = {}): LoadResult => ({
    stack,
    sockets: 10,
    chats: 5,
    targetRate: 100,
    achievedRate: 100,
    seconds: 1,
    sent: 100,
    acked: 100,
    ackFailures: 0,
    sendToAckMs: latency(20),
    sendToReceiveMs: latency(22),
    deliveries: 300,
    expectedDeliveries: 300,
    deliveriesPerSecond: 300,
    lostDeliveries: 0,
    ackedNotStored: 0,
    duplicates: 0,
    disconnects: 0,
    drained: true,
    stoppedEarly: false,
    serverCpuSeconds: 0.5,
    cpuMsPerMessage: 5,
    cpuMsPer1kDeliveries: 1.7,
    cpuByProcess: {},
    clientCpuSeconds: 0.1,
    loopDelayP99Ms: 5,
    monotonicUs: [0, 1],
    ...over,
  });
  const rep = (stack: 'full' | 'bare', over: Partial<LoadRep> = {}): LoadRep => ({
    cpu: run(stack),
    stairs: { steps: [], capacityRate: 100, capacityDeliveries: 300, capacityRung: 3, run: run(stack) },
    ...over,
  });
  const report = (smallChats: BenchReport['smallChats'], fanout: BenchReport['fanout']): BenchReport => ({
    generatedAt: '2026-12-07T00:00:00.000Z',
    machine: { nproc: 2, cpuModel: 'test', memTotalGiB: 1, node: 'v20', kernel: 'test', openFileLimit: 1024 },
    loadAverage: { start: 0, end: 0 },
    config: {
      smallCpuRate: 100,
      smallRate: 200,
      smallBudgetMs: 100,
      cpuRate: 100,
      rate: 200,
      p99BudgetMs: 250,
    },
    stacks: {},
    smallChats,
    fanout,
    storm: [],
    connections: {},
    services: {},
    durationSeconds: 1,
  });

  test('rows read only from latency runs at 200 msg/s are left out of a part that made none; the target’s stays', () => {
    // The default run: the latency run at 200 msg/s only on the full stack in small chats, none in the fan-out.
    const names = figures(
      report(
        [{ full: rep('full', { fixed: run('full', { sendToAckMs: latency(40) }) }), bare: rep('bare') }],
        [{ full: rep('full'), bare: rep('bare') }],
      ),
    ).map((f) => f.name);
    expect(names).toContain('small chats: send→ack p99 at 200 msg/s (ms)');
    expect(names).toContain('fan-out: server CPU per 1,000 deliveries at 100 msg/s (ms)');
    expect(names.filter((n) => n.startsWith('fan-out:') && n.includes('at 200 msg/s'))).toEqual([]);
    const p99 = figures(
      report(
        [{ full: rep('full', { fixed: run('full', { sendToAckMs: latency(40) }) }), bare: rep('bare') }],
        [],
      ),
    ).find((f) => f.name === 'small chats: send→ack p99 at 200 msg/s (ms)')!;
    expect(p99.full.median).toBe(40);
    expect(p99.pass).toBe(false);
    // A run with no latency run at all keeps the target's row, unmeasured and so not met.
    const none = figures(report([{ full: rep('full'), bare: rep('bare') }], []));
    const target = none.find((f) => f.name === 'small chats: send→ack p99 at 200 msg/s (ms)')!;
    expect(target.full.median).toBeNaN();
    expect(target.pass).toBe(false);
    expect(none.map((f) => f.name)).not.toContain('small chats: send→ack p50 at 200 msg/s (ms)');
  });

  test('every run of a repetition counts towards lost and duplicated, the priming run included', () => {
    const [lost, dups] = ['lost deliveries', 'duplicate deliveries'].map((prefix) =>
      figures(
        report(
          [
            {
              full: rep('full', {
                primed: run('full', { lostDeliveries: 2, duplicates: 1 }),
                fixed: run('full', { ackedNotStored: 1 }),
              }),
              bare: rep('bare', { cpu: run('bare', { duplicates: 4 }) }),
            },
          ],
          [],
        ),
      ).find((f) => f.name.startsWith(prefix))!,
    );
    expect(lost!.full.median).toBe(3);
    expect(lost!.pass).toBe(false);
    expect(dups!.full.median).toBe(1);
    expect(dups!.bare.median).toBe(4);
  });
});

describe('emission stamps (the assistant part)', () => {
  test('reads back every stamp of a coalesced delta, in order', () => {
    const delta = [1733333333123.25, 1733333333143.5, 1733333333163].map(stampChunk).join('');
    expect(parseStamps(delta)).toEqual([1733333333123.25, 1733333333143.5, 1733333333163]);
    expect(parseStamps('no stamps here [t:]')).toEqual([]);
  });

  test('the fake provider writes each chunk when it sends it, at its token rate', async () => {
    const fake = await startOpenAiFake({
      text: 'a b c d ',
      chunkDelayMs: 30,
      chunkText: () => stampChunk(performance.timeOrigin + performance.now()),
    });
    try {
      const res = await fetch(`${fake.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const content = (await res.text())
        .split('\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => JSON.parse(line.slice(6)) as { choices: Array<{ delta?: { content?: string } }> })
        .map((chunk) => chunk.choices[0]?.delta?.content ?? '')
        .join('');
      const stamps = parseStamps(content);
      expect(stamps).toHaveLength(4);
      for (let i = 1; i < stamps.length; i += 1)
        expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(25);
    } finally {
      await fake.close();
    }
  });
});

describe('LightSocket against a socket.io server', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  let pongs = 0;

  beforeAll(async () => {
    http = createServer();
    io = new Server(http, { pingInterval: 100, pingTimeout: 200 });
    io.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: string };
      next(auth.token === 'good' ? undefined : new Error('unauthorized'));
    });
    io.on('connection', (socket) => {
      socket.conn.on('packet', (packet: { type: string }) => {
        if (packet.type === 'pong') pongs += 1;
      });
      socket.on('echo', (payload: unknown, ack: (reply: unknown) => void) => {
        socket.emit('echoed', payload);
        ack({ ok: true, payload });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });

  test('connects with its auth payload, gets the ack and the event an emit causes', async () => {
    const events: Array<[string, unknown]> = [];
    const socket = new LightSocket({
      baseUrl: url,
      auth: { token: 'good' },
      onEvent: (name, payload) => events.push([name, payload]),
    });
    await socket.connect();
    const reply = await socket.emitWithAck('echo', { text: 'hi "there"' });
    expect(reply).toEqual({ ok: true, payload: { text: 'hi "there"' } });
    await waitFor(() => expect(events).toEqual([['echoed', { text: 'hi "there"' }]]));
    socket.close();
  });

  test('rejects with the server’s refusal when the handshake is refused', async () => {
    const socket = new LightSocket({ baseUrl: url, auth: { token: 'bad' } });
    await expect(socket.connect()).rejects.toEqual(new LightSocketError('unauthorized', 'unauthorized'));
  });

  test('answers heartbeats, so an idle socket stays connected past the ping timeout', async () => {
    const socket = new LightSocket({ baseUrl: url, auth: { token: 'good' } });
    await socket.connect();
    const before = pongs;
    await waitFor(() => expect(pongs - before).toBeGreaterThanOrEqual(5), 5000);
    expect(socket.connected).toBe(true);
    socket.close();
  });

  test('drops events it was not asked to parse', async () => {
    const seen: string[] = [];
    const socket = new LightSocket({
      baseUrl: url,
      auth: { token: 'good' },
      events: new Set(['other']),
      onEvent: (name) => seen.push(name),
    });
    await socket.connect();
    await socket.emitWithAck('echo', {});
    socket.close();
    expect(seen).toEqual([]);
  });
});

describe('drivers against the bare baseline (3 processes, Redis adapter, nginx)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startBareStack({ chats: 2, usersPerChat: 3, replicas: 3, smallChats: 8 });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  test('fan-out delivers every message to every socket of its chat exactly once', async () => {
    const clients = new ChatLoad(stack, stack.chats);
    try {
      await clients.connect(30);
      const result = await clients.run(40, 1);
      expect(result.sent).toBe(40);
      expect(result.acked).toBe(40);
      expect(result.deliveries).toBe(40 * 15);
      expect(result.expectedDeliveries).toBe(40 * 15);
      expect(result.lostDeliveries).toBe(0);
      expect(result.duplicates).toBe(0);
      expect(result.sendToReceiveMs.count).toBe(600);
      expect(result.cpuMsPerMessage).toBeGreaterThan(0);
    } finally {
      clients.close();
    }
  }, 30_000);

  test('small chats: every member of every chat sends in turn and receives each message once', async () => {
    const clients = new ChatLoad(stack, stack.smallChats);
    try {
      await clients.connectMembers();
      // 8 chats of 2, 3, 4, 5, 2, 3, 4, 5 members.
      expect(clients.size).toBe(28);
      const result = await clients.run(64, 1);
      expect(result.acked).toBe(64);
      expect(result.deliveries).toBe(8 * 28);
      expect(result.lostDeliveries).toBe(0);
      expect(result.duplicates).toBe(0);
    } finally {
      clients.close();
    }
  }, 30_000);

  test('a staircase climbs until two steps in a row miss the budget, names the fastest that held, and may skip low rungs', async () => {
    const clients = new ChatLoad(stack, stack.smallChats);
    try {
      await clients.connectMembers();
      // A budget no run can meet: the first two steps fail and the staircase stops there.
      const never = await clients.staircase({
        startRate: 40,
        factor: 2,
        stepSeconds: 0.5,
        maxSteps: 5,
        budgetMs: 0.001,
        metric: 'ack',
      });
      expect(never.steps.length).toBeLessThanOrEqual(3);
      expect(never.steps.every((s) => !s.held)).toBe(true);
      expect(never.capacityRate).toBe(0);
      expect(never.capacityRung).toBe(-1);
      const easy = await clients.staircase({
        startRate: 20,
        factor: 2,
        stepSeconds: 0.5,
        maxSteps: 3,
        budgetMs: 5000,
        metric: 'ack',
      });
      expect(easy.steps.map((s) => s.rate)).toEqual([20, 40, 80]);
      expect(easy.steps.every((s) => s.held)).toBe(true);
      expect(easy.capacityRate).toBeGreaterThan(60);
      expect(easy.capacityRung).toBe(2);
      // A later repetition skips the low rungs of the same ladder: rungs 1 and 2 offer 40 and 80 msg/s again.
      const later = await clients.staircase({
        startRate: 20,
        factor: 2,
        stepSeconds: 0.5,
        maxSteps: 3,
        firstRung: 1,
        budgetMs: 5000,
        metric: 'ack',
      });
      expect(later.steps.map((s) => [s.rung, s.rate])).toEqual([
        [1, 40],
        [2, 80],
      ]);
      expect(later.capacityRung).toBe(2);
    } finally {
      clients.close();
    }
  }, 30_000);

  test('cids chosen with nginx’s consistent hash land on the replica they were chosen for', async () => {
    const ring = new ConsistentHashRing(stack.upstreams);
    const clients = stack.replicas.map(() => [] as LightSocket[]);
    try {
      for (let target = 0; target < 3; target += 1) {
        for (const cid of ring.keysFor(target, 5 + target, `t${target}`)) {
          const socket = new LightSocket({
            baseUrl: stack.edgeUrl.replace(/^http/, 'ws'),
            query: { cid },
            auth: { chatId: 'x' },
          });
          await socket.connect();
          clients[target]!.push(socket);
        }
      }
      await waitFor(async () => expect(await stack.connectedPerReplica()).toEqual([5, 6, 7]));
    } finally {
      for (const socket of clients.flat()) socket.terminate();
    }
    await waitFor(async () => expect(await stack.connectedPerReplica()).toEqual([0, 0, 0]));
  }, 30_000);

  test('a reconnect storm brings every socket of a killed replica back through nginx, caught up', async () => {
    const result = await reconnectStorm(stack, {
      count: 60,
      victim: 1,
      holdSeconds: 0.2,
      baseSeconds: 0.2,
      timeoutSeconds: 20,
      tag: 'test',
    });
    expect(result.sockets).toBe(60);
    expect(result.missing).toBe(0);
    expect(result.recoverSeconds).toBeGreaterThan(0);
    expect(result.stormCpuMsPerHandshake).toBeGreaterThan(0);
    // Idle CPU by process, every measured process named; the figure is the sockets' path (their replica, bare-2,
    // nginx and Redis) scaled to 10,000 sockets, the other replicas are counted apart (each share is rounded to
    // 0.01 % of a core).
    const byProcess = result.idleCpuByProcess ?? {};
    expect(Object.keys(byProcess)).toEqual(
      expect.arrayContaining(['bare-1', 'bare-2', 'bare-3', 'redis', 'nginx-worker-1']),
    );
    const per10k = (labels: string[]) =>
      (labels.reduce((sum, label) => sum + byProcess[label]!, 0) * 10_000) / 60;
    const rounding = (n: number) => (n * 0.005 * 10_000) / 60 + 0.01;
    const path = Object.keys(byProcess).filter(
      (l) => l === 'bare-2' || l === 'redis' || l.startsWith('nginx'),
    );
    expect(Math.abs(result.idleCpuPercentPer10k - per10k(path))).toBeLessThanOrEqual(rounding(path.length));
    expect(Math.abs(result.idleElsewherePercentPer10k! - per10k(['bare-1', 'bare-3']))).toBeLessThanOrEqual(
      rounding(2),
    );
    await waitFor(async () => expect(await stack.connectedPerReplica()).toEqual([0, 0, 0]));
    // The replica is back on its port, and once nginx routes to it again a second storm finds it.
    const again = await reconnectStorm(stack, {
      count: 60,
      victim: 1,
      holdSeconds: 0.2,
      baseSeconds: 0.2,
      timeoutSeconds: 20,
      tag: 'again',
    });
    expect(again.sockets).toBe(60);
    expect(again.missing).toBe(0);
  }, 90_000);

  test('the connection ramp holds the target spread over the replicas and accounts for its memory', async () => {
    const result = await rampConnections(
      stack,
      { target: 300, seconds: 20, holdSeconds: 1, perWorker: 200 },
      () => undefined,
    );
    expect(result.reached).toBe(300);
    expect(result.clientProcesses).toBe(2);
    expect(result.replicas.map((r) => r.sockets)).toEqual([100, 100, 100]);
    expect(result.failed).toBe(0);
    for (const replica of result.replicas) {
      expect(replica.rssAfterMiB).toBeGreaterThan(0);
      // Each replica's CPU over the hold, from the hold's own meter (its label among the server processes).
      expect(replica.idleCpuPercent).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});

describe('the bare baseline answering @cohortgpt (the assistant part)', () => {
  interface Delta {
    chatId: string;
    streamId: string;
    replyTo: string;
    index: number;
    delta: string;
  }
  interface Answer {
    message: { id: string; text: string; replyTo?: string; ai?: { streamId: string; status: string } };
  }

  test('streams coalesced deltas to the sockets of every process, then the answer with their joined text', async () => {
    const fake = await startOpenAiFake({ text: 'one two three four five six ', chunkDelayMs: 10 });
    let stack: Stack | undefined;
    const sockets: LightSocket[] = [];
    try {
      stack = await startBareStack({
        chats: 1,
        usersPerChat: 3,
        replicas: 3,
        env: { AI_BASE_URL: fake.baseUrl, AI_MODEL: 'fake-model', AI_COALESCE_MS: '25' },
      });
      const chat = stack.chats[0]!;
      const received = stack.replicas.map(() => ({ deltas: [] as Delta[], answers: [] as Answer[] }));
      // One socket straight at each process: the deltas of the process that answers reach the others via Redis.
      for (const [i, replica] of stack.replicas.entries()) {
        const socket = new LightSocket({
          baseUrl: replica.url.replace(/^http/, 'ws'),
          auth: chat.memberAuth[i]!,
          events: new Set(['ai:delta', 'chat:new']),
          onEvent: (name, payload) => {
            if (name === 'ai:delta') received[i]!.deltas.push(payload as Delta);
            else received[i]!.answers.push(payload as Answer);
          },
        });
        await socket.connect();
        sockets.push(socket);
      }
      const ack = (await sockets[0]!.emitWithAck('chat:send', {
        chatId: chat.id,
        text: '@cohortgpt hello',
        clientMsgId: 'q1',
      })) as { ok: boolean; message: { id: string } };
      expect(ack.ok).toBe(true);
      await waitFor(() => {
        if (!received.every((r) => r.answers.some((a) => a.message.ai))) throw new Error('no answer yet');
      }, 10_000);
      for (const r of received) {
        const answer = r.answers.find((a) => a.message.ai)!.message;
        expect(answer.replyTo).toBe(ack.message.id);
        expect(answer.ai?.status).toBe('done');
        expect(answer.text).toBe('one two three four five six ');
        // Coalesced: fewer deltas than chunks, indexes 0, 1, 2, … of one stream, joined into the answer.
        expect(r.deltas.length).toBeGreaterThan(0);
        expect(r.deltas.length).toBeLessThan(6);
        expect(r.deltas.map((d) => d.index)).toEqual(r.deltas.map((_, i) => i));
        for (const d of r.deltas) {
          expect(d).toMatchObject({
            chatId: chat.id,
            streamId: answer.ai?.streamId,
            replyTo: ack.message.id,
          });
        }
        expect(r.deltas.map((d) => d.delta).join('')).toBe(answer.text);
      }
    } finally {
      for (const socket of sockets) socket.terminate();
      await stack?.stop();
      await fake.close();
    }
  }, 60_000);
});
