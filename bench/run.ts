/**
 * `npm run bench`: the whole product on the local cluster against a bare Socket.IO baseline, in one run on one
 * machine, reported as ratios. Writes bench/results/latest.json and latest.md and prints a summary.
 *
 *   node --conditions=source --import tsx bench/run.ts
 *
 * Knobs (env): BENCH_SOCKETS (2000) BENCH_CHATS (20) BENCH_USERS_PER_CHAT (10) BENCH_RATE (200 msg/s)
 * BENCH_SECONDS (8, the fixed-rate run) BENCH_STEP_SECONDS (4, each capacity step) BENCH_P99_BUDGET_MS (250)
 * BENCH_MAX_RATE (6400) BENCH_CONN_TARGET (20000) BENCH_CONN_SECONDS (60) BENCH_HOLD_SECONDS (8)
 * BENCH_LOGIN_SECONDS (6) BENCH_LOGIN_ROUNDS (3) BENCH_LOGIN_COST (12, auth's default) BENCH_GATEWAY_SECONDS (3) BENCH_GATEWAY_ROUNDS (2) BENCH_SKIP (comma list of: connections, fanout, scaling,
 * services, bare) BENCH_OUT (results directory).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { rampConnections, type ConnectionsResult } from './src/connections';
import { FanoutClients, type FanoutResult } from './src/fanout';
import { machineInfo, openFileLimit } from './src/proc';
import {
  renderMarkdown,
  renderSummary,
  type BenchReport,
  type StackFanout,
  type TargetCheck,
} from './src/report';
import {
  gatewayBench,
  loginBench,
  type GatewayBenchResult,
  type LoginBenchResult,
} from './src/service-benches';
import { startBareStack, startFullStack, type Stack, type StackPlan } from './src/stacks';
import { ratio, round } from './src/stats';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
};

const config = {
  sockets: num('BENCH_SOCKETS', 2000),
  chats: num('BENCH_CHATS', 20),
  usersPerChat: num('BENCH_USERS_PER_CHAT', 10),
  replicas: 3,
  rate: num('BENCH_RATE', 200),
  seconds: num('BENCH_SECONDS', 8),
  stepSeconds: num('BENCH_STEP_SECONDS', 4),
  p99BudgetMs: num('BENCH_P99_BUDGET_MS', 250),
  maxRate: num('BENCH_MAX_RATE', 6400),
  connTarget: num('BENCH_CONN_TARGET', 20_000),
  connSeconds: num('BENCH_CONN_SECONDS', 60),
  holdSeconds: num('BENCH_HOLD_SECONDS', 8),
  loginSeconds: num('BENCH_LOGIN_SECONDS', 6),
  loginRounds: num('BENCH_LOGIN_ROUNDS', 3),
  loginCost: num('BENCH_LOGIN_COST', 12),
  gatewaySeconds: num('BENCH_GATEWAY_SECONDS', 3),
  gatewayRounds: num('BENCH_GATEWAY_ROUNDS', 2),
};
const skip = new Set(
  (process.env.BENCH_SKIP ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const outDir = process.env.BENCH_OUT ?? join(__dirname, 'results');
const benchStarted = performance.now();

function log(line: string): void {
  const t = ((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${t}s] ${line}\n`);
}

/** A capacity step holds when everything arrived, nothing was lost, the sender kept the rate and p99 fits. */
function holds(r: FanoutResult): boolean {
  return (
    r.drained &&
    !r.stoppedEarly &&
    r.lostDeliveries === 0 &&
    r.ackFailures === 0 &&
    r.achievedRate >= 0.9 * r.targetRate &&
    r.sendToReceiveMs.p99 <= config.p99BudgetMs
  );
}

function describe(r: FanoutResult): string {
  return (
    `${r.stack} ${r.sockets} sockets @ ${r.targetRate} msg/s (achieved ${r.achievedRate}): ` +
    `${r.deliveriesPerSecond} deliveries/s, receive p50/p99 ${r.sendToReceiveMs.p50}/${r.sendToReceiveMs.p99} ms, ` +
    `ack p99 ${r.sendToAckMs.p99} ms, lost ${r.lostDeliveries}, dup ${r.duplicates}, ` +
    `cpu ${r.cpuMsPer1kDeliveries} ms/1k deliveries${holds(r) ? '' : ' — over budget'}`
  );
}

/** Fixed-rate run, then rate doubling to find the highest rate that holds the p99 budget, then 2N sockets. */
/** The send path without fan-out: only the senders (one socket per chat) connected, at the fixed rate. */
async function sendersOnly(stack: Stack): Promise<FanoutResult> {
  const senders = new FanoutClients(stack);
  try {
    await senders.connect(config.chats);
    await senders.run(config.rate, 1.5);
    const result = await senders.run(config.rate, config.seconds);
    log(`senders only: ${describe(result)}`);
    return result;
  } finally {
    senders.close();
  }
}

async function fanout(stack: Stack): Promise<StackFanout> {
  const sendersOnlyRun = await sendersOnly(stack);
  const clients = new FanoutClients(stack);
  try {
    const connectSeconds = await clients.connect(config.sockets);
    log(`${stack.name}: ${clients.size} sockets connected through nginx in ${connectSeconds.toFixed(1)} s`);
    // A short warm-up so JIT and connection pools are not part of the first figures.
    await clients.run(config.rate, 1.5);
    const fixed = await clients.run(config.rate, config.seconds);
    log(describe(fixed));
    const steps: FanoutResult[] = [fixed];
    const step = async (rate: number) => {
      const result = await clients.run(rate, config.stepSeconds);
      log(describe(result));
      steps.push(result);
      return result;
    };
    let rateDoubling: { base: FanoutResult; doubled: FanoutResult } | undefined;
    if (!skip.has('scaling')) {
      // Capacity search: double while the budget holds, halve while it does not, then bisect.
      let lastPass = holds(fixed) ? config.rate : 0;
      let firstFail = holds(fixed) ? 0 : config.rate;
      if (lastPass > 0) {
        for (let rate = config.rate * 2; firstFail === 0 && rate <= config.maxRate; rate *= 2) {
          const result = await step(rate);
          if (holds(result)) lastPass = rate;
          else firstFail = rate;
          rateDoubling ??= { base: fixed, doubled: result };
        }
      } else {
        for (let rate = config.rate / 2; lastPass === 0 && rate >= config.rate / 16; rate /= 2) {
          const result = await step(rate);
          if (holds(result)) lastPass = rate;
          else firstFail = rate;
        }
        const half = steps.find((s) => s.targetRate === config.rate / 2);
        if (half) rateDoubling = { base: half, doubled: fixed };
      }
      // Then two bisection steps: the capacity is known within an eighth of the doubling bracket.
      for (let i = 0; i < 2 && lastPass > 0 && firstFail > 0; i += 1) {
        const rate = Math.round((lastPass + firstFail) / 2);
        if (holds(await step(rate))) lastPass = rate;
        else firstFail = rate;
      }
    }
    const passing = steps.filter(holds);
    const best = passing.reduce<FanoutResult | undefined>(
      (a, b) => (a && a.deliveriesPerSecond >= b.deliveriesPerSecond ? a : b),
      undefined,
    );

    // Twice the sockets at the same rate: at the capacity rate (or the fixed rate when nothing held).
    let socketDoubling: { base: FanoutResult; doubled: FanoutResult } | undefined;
    if (!skip.has('scaling')) {
      const base = best ?? fixed;
      const more = await clients.connect(config.sockets);
      log(`${stack.name}: ${clients.size} sockets after doubling (${more.toFixed(1)} s)`);
      await clients.run(base.targetRate, 1);
      const doubled = await clients.run(base.targetRate, config.stepSeconds);
      log(describe(doubled));
      socketDoubling = { base, doubled };
    }
    return {
      connectSeconds: round(connectSeconds),
      sendersOnly: sendersOnlyRun,
      fixed,
      steps,
      capacity: best
        ? {
            deliveriesPerSecond: best.deliveriesPerSecond,
            rate: best.targetRate,
            p99Ms: best.sendToReceiveMs.p99,
          }
        : undefined,
      rateDoubling,
      socketDoubling,
    };
  } finally {
    clients.close();
  }
}

async function connections(stack: Stack, target: number): Promise<ConnectionsResult> {
  log(`${stack.name}: ramping idle sockets to ${target} (at most ${config.connSeconds} s)`);
  const result = await rampConnections(
    stack,
    { target, seconds: config.connSeconds, holdSeconds: config.holdSeconds },
    log,
  );
  log(
    `${stack.name}: held ${result.reached} idle sockets (${result.stopReason}); ${result.handshakesPerSecond} handshakes/s; ` +
      `RSS ${result.rssPerSocketKiB} KiB/socket; idle CPU ${result.idleCpuPercent}% of a core`,
  );
  // Wait for the replicas to notice the closed sockets before anything else is measured.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const live = await stack.connectedPerReplica().catch(() => undefined);
    if (!live || live.every((n) => n === 0) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return result;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const plan: StackPlan = {
    chats: config.chats,
    usersPerChat: config.usersPerChat,
    replicas: config.replicas,
  };
  log(
    `machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memTotalGiB} GiB, Node ${machine.node}; ` +
      `load average ${loadavg()[0]!.toFixed(2)}; open-file limit ${openFileLimit()}`,
  );
  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtStart: round(loadavg()[0]!, 2), openFileLimit: openFileLimit() },
    config,
    stacks: {},
    fanout: {},
    connections: {},
    services: {},
    targets: [],
    durationSeconds: 0,
  };

  // The full stack first, then the baseline, each alone on the machine while it is measured.
  for (const name of ['full', 'bare'] as const) {
    if (name === 'bare' && skip.has('bare')) continue;
    log(`starting the ${name} stack`);
    const stack = name === 'full' ? await startFullStack(plan) : await startBareStack(plan);
    report.stacks[name] = stack.description;
    try {
      if (!skip.has('connections')) {
        // The baseline ramps to what the full stack reached, so RSS per socket compares like with like.
        const target =
          name === 'bare' && report.connections.full ? report.connections.full.reached : config.connTarget;
        report.connections[name] = await connections(stack, Math.max(1, target));
      }
      if (!skip.has('fanout')) report.fanout[name] = await fanout(stack);
    } finally {
      await stack.stop();
    }
  }

  if (!skip.has('services')) {
    log('services/auth login bench (worker pool vs main thread)');
    report.services.login = await loginBench(config.loginSeconds, config.loginRounds, config.loginCost).catch(
      (err: unknown) => failed('login', err),
    );
    log('services/gateway bench (through gateway vs direct)');
    report.services.gateway = await gatewayBench(config.gatewaySeconds, config.gatewayRounds).catch(
      (err: unknown) => failed('gateway', err),
    );
  }

  report.targets = checkTargets(report);
  report.durationSeconds = round((performance.now() - benchStarted) / 1000);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), renderMarkdown(report));
  process.stdout.write(`\n${renderSummary(report)}\n`);
  log(`wrote ${join(outDir, 'latest.json')} and latest.md`);
}

function failed(name: string, err: unknown): undefined {
  log(`${name} bench failed: ${err instanceof Error ? err.message : String(err)}`);
  return undefined;
}

function checkTargets(report: BenchReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const full = report.fanout.full;
  const bare = report.fanout.bare;
  if (full && bare) {
    const value = ratio(
      full.capacity?.deliveriesPerSecond ?? 0,
      bare.capacity?.deliveriesPerSecond ?? Number.NaN,
    );
    checks.push({
      name: `fan-out deliveries/s, full ÷ bare, at p99 ≤ ${config.p99BudgetMs} ms`,
      value,
      target: '≥ 0.60',
      pass: value >= 0.6,
    });
  }
  if (full) {
    if (full.sendersOnly) {
      checks.push({
        name: `send→ack p99 at ${config.rate} msg/s, senders only (ms)`,
        value: full.sendersOnly.sendToAckMs.p99,
        target: '< 25',
        pass: full.sendersOnly.sendToAckMs.p99 < 25,
      });
    }
    checks.push({
      name: `send→ack p99 at ${config.rate} msg/s with ${config.sockets} sockets receiving (ms)`,
      value: full.fixed.sendToAckMs.p99,
      target: '< 25',
      pass: full.fixed.sendToAckMs.p99 < 25,
    });
    const runs = [...full.steps, ...(full.socketDoubling ? [full.socketDoubling.doubled] : [])];
    const lost = runs.reduce((sum, r) => sum + r.lostDeliveries + r.ackedNotStored, 0);
    const dups = runs.reduce((sum, r) => sum + r.duplicates, 0);
    checks.push({
      name: 'messages lost (full stack, every run, checked with chat:sync)',
      value: lost,
      target: '0',
      pass: lost === 0,
    });
    checks.push({
      name: 'duplicate deliveries (full stack, every run)',
      value: dups,
      target: '0',
      pass: dups === 0,
    });
  }
  const cf = report.connections.full;
  const cb = report.connections.bare;
  if (cf) {
    checks.push({
      name: 'idle authenticated sockets held (3 replicas)',
      value: cf.reached,
      target: '50,000 (issue) / BENCH_CONN_TARGET',
      pass: cf.reached >= 50_000,
    });
  }
  if (cf && cb) {
    const value = ratio(cf.rssPerSocketKiB, cb.rssPerSocketKiB);
    checks.push({ name: 'RSS per idle socket, full ÷ bare', value, target: '≤ 1.25', pass: value <= 1.25 });
  }
  const login = report.services.login;
  if (login)
    checks.push({
      name: `login throughput, worker pool ÷ main thread (cost ${login.cost})`,
      value: login.ratio,
      target: '≥ 1.8',
      pass: login.ratio >= 1.8,
    });
  const gateway = report.services.gateway;
  if (gateway)
    checks.push({
      name: 'gateway throughput ÷ direct',
      value: gateway.ratio,
      target: '≥ 0.50',
      pass: gateway.ratio >= 0.5,
    });
  return checks;
}

export type { GatewayBenchResult, LoginBenchResult };

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
