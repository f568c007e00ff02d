/**
 * Fan-out benchmark: classic vs sharded Socket.IO Redis adapter (the adapter code the service ships,
 * src/adapter.ts), 3 replicas (worker threads, one Socket.IO server each) on one real redis-server, N real
 * socket.io-clients spread over the replicas, M rooms of random members. Each replica broadcasts to random rooms
 * at a fixed rate (as presence and typing do); clients measure delivery latency on the same clock.
 *
 *   npm run bench -w @cohort/realtime
 *   BENCH_CLIENTS=600 BENCH_ROOMS=200 BENCH_RATE=400 BENCH_SECONDS=8 npm run bench -w @cohort/realtime
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { createLogger } from '@cohort/common';
import { startRedisServer } from '@cohort/testkit';
import { createRedisAdapter, type AdapterMode } from '../src/adapter';

interface ReplicaInput {
  redisUrl: string;
  mode: AdapterMode;
  replica: number;
  rooms: number;
  ratePerSecond: number;
}

type ToWorker = { type: 'start' } | { type: 'measure' } | { type: 'stop' };
type FromWorker =
  | { type: 'ready'; port: number }
  | { type: 'stats'; redisMessages: number; broadcastsPerRoom: number[]; utilization: number };

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function replicaMain(input: ReplicaInput): Promise<void> {
  const port = parentPort!;
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const pubClient = new Redis(input.redisUrl);
  const subClient = new Redis(input.redisUrl, { maxRetriesPerRequest: null });
  let redisMessages = 0;
  for (const event of ['messageBuffer', 'pmessageBuffer', 'smessageBuffer'])
    subClient.on(event, () => redisMessages++);
  const httpServer = createServer();
  const io = new Server(httpServer, {
    adapter: createRedisAdapter({ mode: input.mode, pubClient, subClient, logger }),
  });
  io.on('connection', (socket) => {
    void socket.join(
      String(socket.handshake.query.rooms ?? '')
        .split(',')
        .filter(Boolean),
    );
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const address = httpServer.address();
  port.postMessage({
    type: 'ready',
    port: typeof address === 'object' && address ? address.port : 0,
  } satisfies FromWorker);

  let timer: NodeJS.Timeout | undefined;
  let measuring = false;
  let elu = performance.eventLoopUtilization();
  const broadcastsPerRoom = new Array<number>(input.rooms).fill(0);
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'start') {
      const perTick = input.ratePerSecond / 100;
      let owed = 0;
      timer = setInterval(() => {
        owed += perTick;
        for (; owed >= 1; owed--) {
          const room = Math.floor(Math.random() * input.rooms);
          io.to(`chat:${room}`).emit('m', { t: Date.now(), measured: measuring });
          if (measuring) broadcastsPerRoom[room]!++;
        }
      }, 10);
    } else if (msg.type === 'measure') {
      measuring = true;
      redisMessages = 0;
      elu = performance.eventLoopUtilization();
    } else {
      measuring = false;
      clearInterval(timer);
      const utilization = performance.eventLoopUtilization(elu).utilization;
      port.postMessage({ type: 'stats', redisMessages, broadcastsPerRoom, utilization } satisfies FromWorker);
    }
  });
}

/** Deterministic PRNG (mulberry32), so both modes get the same room layout. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function runMode(mode: AdapterMode, redisUrl: string) {
  const clients = env('BENCH_CLIENTS', 300);
  const rooms = env('BENCH_ROOMS', 100);
  const roomsPerClient = env('BENCH_ROOMS_PER_CLIENT', 1);
  const rate = env('BENCH_RATE', 300);
  const seconds = env('BENCH_SECONDS', 5);
  const replicas = 3;

  const workers = Array.from({ length: replicas }, (_, replica) => {
    const input: ReplicaInput = { redisUrl, mode, replica, rooms, ratePerSecond: rate };
    // Workers do not inherit tsx's loader: register its CommonJS hook in the worker, then load this file.
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
      eval: true,
      workerData: input,
      execArgv: ['--conditions=source'],
    });
  });
  const next = (w: Worker) =>
    new Promise<FromWorker>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  const ports = (await Promise.all(workers.map(next))).map((m) => (m.type === 'ready' ? m.port : 0));

  const random = prng(42);
  const sockets: ClientSocket[] = [];
  const latencies: number[] = [];
  const roomSize = new Array<number>(rooms).fill(0);
  for (let i = 0; i < clients; i++) {
    const mine = new Set<number>();
    while (mine.size < roomsPerClient) mine.add(Math.floor(random() * rooms));
    for (const r of mine) roomSize[r]!++;
    const socket = connectClient(`http://127.0.0.1:${ports[i % replicas]}`, {
      transports: ['websocket'],
      forceNew: true,
      query: { rooms: [...mine].map((r) => `chat:${r}`).join(',') },
    });
    socket.on('m', (p: { t: number; measured: boolean }) => {
      if (p.measured) latencies.push(Date.now() - p.t);
    });
    sockets.push(socket);
  }
  await Promise.all(
    sockets.map(
      (s) => new Promise<void>((resolve) => (s.connected ? resolve() : s.once('connect', () => resolve()))),
    ),
  );

  for (const w of workers) w.postMessage({ type: 'start' } satisfies ToWorker);
  await new Promise((r) => setTimeout(r, 1000));
  for (const w of workers) w.postMessage({ type: 'measure' } satisfies ToWorker);
  const started = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const stats = workers.map(next);
  for (const w of workers) w.postMessage({ type: 'stop' } satisfies ToWorker);
  const results = await Promise.all(stats);
  const elapsed = (Date.now() - started) / 1000;
  // Let the last measured broadcasts land.
  await new Promise((r) => setTimeout(r, 500));
  let redisMessages = 0;
  let expected = 0;
  let utilization = 0;
  for (const r of results) {
    if (r.type !== 'stats') continue;
    redisMessages += r.redisMessages;
    utilization += r.utilization / replicas;
    r.broadcastsPerRoom.forEach((count, room) => (expected += count * roomSize[room]!));
  }

  for (const s of sockets) s.disconnect();
  await Promise.all(workers.map((w) => w.terminate()));

  latencies.sort((a, b) => a - b);
  return {
    mode,
    'deliveries/s': Math.round(latencies.length / elapsed),
    delivered: `${((100 * latencies.length) / Math.max(1, expected)).toFixed(2)}%`,
    'p50 ms': percentile(latencies, 50),
    'p99 ms': percentile(latencies, 99),
    'max ms': latencies[latencies.length - 1] ?? NaN,
    // Redis pub/sub messages the three replicas had to receive.
    'redis msgs in/s (all replicas)': Math.round(redisMessages / elapsed),
    // Share of the time each replica's event loop was busy (the replica's CPU cost of this load).
    'replica busy': `${(100 * utilization).toFixed(0)}%`,
  };
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  try {
    console.log(
      `3 replicas, ${env('BENCH_CLIENTS', 300)} clients, ${env('BENCH_ROOMS', 100)} rooms × ${env('BENCH_ROOMS_PER_CLIENT', 1)} per client, ` +
        `${env('BENCH_RATE', 300)} broadcasts/s per replica, ${env('BENCH_SECONDS', 5)} s per mode`,
    );
    const rows = [];
    const modes = (process.env.BENCH_MODES ?? 'classic,sharded,classic,sharded').split(',') as AdapterMode[];
    for (const mode of modes) rows.push(await runMode(mode, redis.url));
    console.table(rows);
  } finally {
    await redis.close();
  }
}

if (isMainThread) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  void replicaMain(workerData as ReplicaInput);
}
