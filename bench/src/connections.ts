import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { OpenCommand, WorkerProgress } from './idle-worker';
import { CpuMeter, openFileLimit, rssBytes } from './proc';
import { clientPids, type Stack } from './stacks';
import { round } from './stats';

export interface ConnectionsOptions {
  target: number;
  /** Time bound of the ramp. */
  seconds: number;
  /** How long the sockets are held idle while heartbeat CPU is measured. */
  holdSeconds: number;
  /** Sockets one client process holds at most (its open-file limit bounds it). */
  perWorker?: number;
  concurrencyPerWorker?: number;
  /** Runs while the sockets are still held, after the measurements (diagnostics such as heap snapshots). */
  whileHeld?: () => Promise<void>;
}

export interface ReplicaHold {
  label: string;
  sockets: number;
  /** Sockets the replica itself reports (full stack's /metrics), when it can tell. */
  reported?: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** (RSS after − RSS before) / sockets held. */
  rssPerSocketKiB: number;
  /** CPU used while holding the idle sockets (heartbeats, presence refresh), as % of one core. */
  idleCpuPercent: number;
  openFileLimit: number;
}

export interface ConnectionsResult {
  stack: 'full' | 'bare';
  target: number;
  reached: number;
  failed: number;
  dropped: number;
  errors: Record<string, number>;
  stopReason: string;
  rampSeconds: number;
  handshakesPerSecond: number;
  /** Server CPU seconds per 1,000 handshakes during the ramp. */
  rampCpuSecondsPer1k: number;
  clientProcesses: number;
  replicas: ReplicaHold[];
  rssPerSocketKiB: number;
  /** Whole-stack CPU while idle, as % of one core, and per 10,000 sockets. */
  idleCpuPercent: number;
  idleCpuPercentPer10k: number;
  idleCpuByProcess: Record<string, number>;
  /** CLOCK_MONOTONIC microseconds at the start and end of the ramp (to line up with CPU profiles). */
  rampMonotonicUs: [number, number];
}

interface Worker {
  child: ChildProcess;
  last: WorkerProgress | undefined;
  done: Promise<WorkerProgress>;
}

function startWorker(index: number, cmd: OpenCommand): Worker {
  const child = fork(join(__dirname, 'idle-worker.ts'), [], {
    execArgv: ['--conditions=source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_WORKER: String(index) },
  });
  if (child.pid !== undefined) clientPids.add(child.pid);
  const worker: Worker = {
    child,
    last: undefined,
    done: Promise.resolve(undefined as unknown as WorkerProgress),
  };
  worker.done = new Promise<WorkerProgress>((resolve, reject) => {
    child.on('message', (msg: WorkerProgress) => {
      worker.last = msg;
      if (msg.type === 'done') resolve(msg);
    });
    child.once('exit', (code) => reject(new Error(`client worker ${index} exited with ${code}`)));
  });
  child.send(cmd);
  return worker;
}

function requestReport(worker: Worker): Promise<WorkerProgress> {
  return new Promise((resolve) => {
    const onMessage = (msg: WorkerProgress) => {
      if (msg.type !== 'report') return;
      worker.child.off('message', onMessage);
      resolve(msg);
    };
    worker.child.on('message', onMessage);
    worker.child.send({ type: 'report' });
  });
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()));
  worker.child.send({ type: 'close' });
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  if (worker.child.pid !== undefined) clientPids.delete(worker.child.pid);
}

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Ramps idle sockets straight at the replicas (round robin), from several client processes each bound to its
 * own 127.0.1.x source address, until the target, the time bound, or a run of failures; then holds them idle to
 * measure what a held socket costs. Returns per-replica sockets, RSS growth per socket and idle CPU.
 */
export async function rampConnections(
  stack: Stack,
  options: ConnectionsOptions,
  log: (line: string) => void,
): Promise<ConnectionsResult> {
  const perWorker = options.perWorker ?? Math.max(1000, Math.min(15_000, openFileLimit() - 1000));
  const workerCount = Math.max(1, Math.ceil(options.target / perWorker));
  const targets = stack.replicas.map((r) => r.url.replace(/^http/, 'ws'));
  const auths = stack.chats.flatMap((c) => c.memberAuth);
  const rssBefore = stack.replicas.map((r) => rssBytes(r.pid));
  const rampMeter = new CpuMeter(stack.serverProcesses()).begin();
  const deadline = Date.now() + options.seconds * 1000;
  const started = performance.now();
  const monotonicStart = Number(process.hrtime.bigint() / 1000n);

  const workers: Worker[] = [];
  let offset = 0;
  for (let w = 0; w < workerCount; w += 1) {
    const count = Math.min(perWorker, options.target - offset);
    workers.push(
      startWorker(w, {
        type: 'open',
        targets,
        auths,
        offset,
        count,
        concurrency: options.concurrencyPerWorker ?? 64,
        deadline,
        localAddress: `127.0.1.${w + 1}`,
      }),
    );
    offset += count;
  }
  try {
    const total = () => workers.reduce((sum, w) => sum + (w.last?.connected ?? 0), 0);
    const reporter = setInterval(() => log(`  ${stack.name}: ${total()} idle sockets held`), 5000);
    let finals: WorkerProgress[];
    try {
      finals = await Promise.all(workers.map((w) => w.done));
    } finally {
      clearInterval(reporter);
    }
    const rampSeconds = (performance.now() - started) / 1000;
    const ramp = rampMeter.end();
    const monotonicEnd = Number(process.hrtime.bigint() / 1000n);
    const reached = finals.reduce((sum, p) => sum + p.connected, 0);
    const reasons = [...new Set(finals.map((p) => p.reason ?? '?'))].filter(
      (r) => !r.startsWith('reached this worker'),
    );
    const stopReason =
      reached >= options.target
        ? 'target reached'
        : reasons
            .map((r) => (r === 'time bound reached' ? `time bound (${options.seconds} s) reached` : r))
            .join('; ') || 'every socket attempted; the rest were refused';

    // Hold: let the last handshakes' garbage settle, then measure heartbeat CPU over the window.
    await sleep(2000);
    const holdMeter = new CpuMeter(stack.serverProcesses()).begin();
    await sleep(options.holdSeconds * 1000);
    const hold = holdMeter.end();
    const rssAfter = stack.replicas.map((r) => rssBytes(r.pid));
    const reported = await stack.connectedPerReplica().catch(() => undefined);
    // A fresh report from each worker: the live per-target counts, drops during the hold included.
    const reports = await Promise.all(workers.map(requestReport));
    const held = targets.map((_, i) => reports.reduce((sum, p) => sum + (p.perTarget[i] ?? 0), 0));

    const replicas: ReplicaHold[] = stack.replicas.map((r, i) => {
      const sockets = held[i] ?? 0;
      return {
        label: r.label,
        sockets,
        ...(reported ? { reported: reported[i] ?? Number.NaN } : {}),
        rssBeforeMiB: round(rssBefore[i]! / MiB),
        rssAfterMiB: round(rssAfter[i]! / MiB),
        rssPerSocketKiB: sockets > 0 ? round((rssAfter[i]! - rssBefore[i]!) / sockets / 1024) : Number.NaN,
        idleCpuPercent: round(((hold.cpu[r.label] ?? Number.NaN) / hold.wallSeconds) * 100),
        openFileLimit: openFileLimit(r.pid),
      };
    });
    await options.whileHeld?.();
    const heldTotal = replicas.reduce((sum, r) => sum + r.sockets, 0);
    const rssGrowth = rssAfter.reduce((sum, v, i) => sum + (v - rssBefore[i]!), 0);
    const idleCpuPercent = (hold.total / hold.wallSeconds) * 100;
    return {
      stack: stack.name,
      target: options.target,
      reached,
      failed: finals.reduce((sum, p) => sum + p.failed, 0),
      dropped: reports.reduce((sum, p) => sum + p.dropped, 0),
      errors: finals.reduce<Record<string, number>>((acc, p) => {
        for (const [k, v] of Object.entries(p.errors)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
      stopReason,
      rampSeconds: round(rampSeconds),
      handshakesPerSecond: Math.round(reached / rampSeconds),
      rampCpuSecondsPer1k: reached > 0 ? round((ramp.total / reached) * 1000, 2) : Number.NaN,
      clientProcesses: workerCount,
      replicas,
      rssPerSocketKiB: heldTotal > 0 ? round(rssGrowth / heldTotal / 1024) : Number.NaN,
      idleCpuPercent: round(idleCpuPercent),
      idleCpuPercentPer10k: heldTotal > 0 ? round((idleCpuPercent / heldTotal) * 10_000, 2) : Number.NaN,
      rampMonotonicUs: [monotonicStart, monotonicEnd],
      idleCpuByProcess: Object.fromEntries(
        Object.entries(hold.cpu).map(([k, v]) => [k, round((v / hold.wallSeconds) * 100)]),
      ),
    };
  } finally {
    await Promise.all(workers.map(stopWorker));
  }
}
