/**
 * `npm run bench`: the whole product on the local cluster against a bare Socket.IO baseline, both running at once
 * on one machine, measured in alternating repetitions (full, bare / bare, full / …) and reported as medians with
 * their range. Writes bench/results/latest.json and latest.md and prints a summary.
 *
 *   node --conditions=source --import tsx bench/run.ts
 *
 * Parts (BENCH_PARTS, default `smallchats,fanout,storm`, issue 18's figures; `all` adds assistant and services;
 * BENCH_SKIP removes some, `bare` skips the baseline): smallchats, fanout, storm, connections (the 20,000-socket idle
 * ramp, not in the default run), assistant (issue 16's streaming bench on stacks of its own, full and bare, about two
 * minutes), services. Knobs: see bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { assistantStream } from './src/assistant-stream';
import { ChatLoad, type LoadResult, type StaircaseResult } from './src/chat-load';
import { rampConnections, type ConnectionsResult } from './src/connections';
import { machineInfo, openFileLimit } from './src/proc';
import { renderMarkdown, renderSummary, type BenchReport, type LoadRep, type Rep } from './src/report';
import { gatewayBench, loginBench } from './src/service-benches';
import { startBareStack, startFullStack, type Stack, type StackPlan } from './src/stacks';
import { reconnectStorm, type StormResult } from './src/storm';
import { alternate, round } from './src/stats';

/** A positive number from the environment, or with `count` a whole number that may be 0 (a rung of the ladder). */
const num = (name: string, fallback: number, count = false): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (count ? !Number.isInteger(value) || value < 0 : !Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a ${count ? 'whole' : 'positive'} number, got ${raw}`);
  return value;
};

const config = {
  reps: num('BENCH_REPS', 3),
  fixedSeconds: num('BENCH_SECONDS', 4),
  /**
   * 1: every stack runs the latency run at the issue's rate (200 msg/s) in both parts, as before 2026-12-07
   * (BENCH_LATENCY_RUNS=all). 0 (the default): only the full stack's in small chats, the one a target reads.
   */
  latencyRunsAll: process.env.BENCH_LATENCY_RUNS === 'all' ? 1 : 0,
  stepSeconds: num('BENCH_STEP_SECONDS', 1.25),
  stepFactor: num('BENCH_STEP_FACTOR', 1.15),
  maxSteps: num('BENCH_MAX_STEPS', 12),
  /**
   * Later repetitions start the staircase this many rungs below the first repetition's capacity (the same ladder,
   * its low rungs skipped: they held in the first repetition and only took time).
   */
  rungsBelow: num('BENCH_RUNGS_BELOW', 2),
  /**
   * Repetition 1 starts its staircase this many rungs up the ladder (0 before 2026-12-07): its capacity was on rung 3
   * or above in every run so far; should none climbed hold, it steps down `rungsBelow` rungs at a time as later
   * repetitions do.
   */
  firstRung: num('BENCH_FIRST_RUNG', 3, true),
  smallChats: num('BENCH_SMALL_CHATS', 1000),
  smallMinMembers: num('BENCH_SMALL_MIN', 2),
  smallMaxMembers: num('BENCH_SMALL_MAX', 5),
  smallRate: num('BENCH_SMALL_RATE', 200),
  /** CPU per stored message is measured at a rate neither stack is saturated at (see "How the method holds still"). */
  smallCpuRate: num('BENCH_SMALL_CPU_RATE', 100),
  /** Long enough that each stack's CPU is seconds, so the other processes' background is a few % of it. */
  cpuSeconds: num('BENCH_CPU_SECONDS', 6),
  /** The fan-out's: 400 messages are 40,000 deliveries, as many CPU-seconds as small chats' 600 messages. */
  fanoutCpuSeconds: num('BENCH_FANOUT_CPU_SECONDS', 4),
  smallBudgetMs: num('BENCH_SMALL_BUDGET_MS', 100),
  sockets: num('BENCH_SOCKETS', 2000),
  chats: num('BENCH_CHATS', 20),
  usersPerChat: num('BENCH_USERS_PER_CHAT', 10),
  rate: num('BENCH_RATE', 200),
  cpuRate: num('BENCH_CPU_RATE', 100),
  p99BudgetMs: num('BENCH_P99_BUDGET_MS', 250),
  stormSockets: num('BENCH_STORM_SOCKETS', 6000),
  // The full stack's hold: one presence heartbeat period (realtime's PRESENCE_TTL_MS / 3), so it holds one beat.
  stormHoldSeconds: num('BENCH_STORM_HOLD_SECONDS', 10),
  // Bare's: it has no periodic work per socket shorter than Engine.IO's 25-s ping, which neither hold reaches.
  stormBareHoldSeconds: num('BENCH_STORM_BARE_HOLD_SECONDS', 5),
  stormBaseSeconds: num('BENCH_STORM_BASE_SECONDS', 2),
  stormTimeoutSeconds: num('BENCH_STORM_TIMEOUT_SECONDS', 60),
  connTarget: num('BENCH_CONN_TARGET', 20_000),
  connSeconds: num('BENCH_CONN_SECONDS', 60),
  holdSeconds: num('BENCH_HOLD_SECONDS', 8),
  loginSeconds: num('BENCH_LOGIN_SECONDS', 3),
  loginRounds: num('BENCH_LOGIN_ROUNDS', 3),
  loginCost: num('BENCH_LOGIN_COST', 12),
  gatewaySeconds: num('BENCH_GATEWAY_SECONDS', 2),
  gatewayRounds: num('BENCH_GATEWAY_ROUNDS', 3),
  aiChats: num('BENCH_AI_CHATS', 20),
  aiSocketsPerChat: num('BENCH_AI_SOCKETS_PER_CHAT', 100),
  aiUsersPerChat: num('BENCH_AI_USERS_PER_CHAT', 10),
  aiTokens: num('BENCH_AI_TOKENS', 100),
  aiTokenMs: num('BENCH_AI_TOKEN_MS', 20),
  aiCoalesceMs: num('BENCH_AI_COALESCE_MS', 25),
  aiTimeoutSeconds: num('BENCH_AI_TIMEOUT_SECONDS', 60),
};
const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const skip = new Set(list(process.env.BENCH_SKIP));
// The default is issue 18's figures; `all` adds the assistant's streaming (issue 16) and the services' own benches.
const DEFAULT_PARTS = 'smallchats,fanout,storm';
const ALL_PARTS = `${DEFAULT_PARTS},assistant,services`;
const parts = new Set(
  list(process.env.BENCH_PARTS ?? DEFAULT_PARTS)
    .flatMap((p) => (p === 'all' ? list(ALL_PARTS) : [p]))
    .filter((p) => !skip.has(p)),
);
const withBare = !skip.has('bare');
const outDir = process.env.BENCH_OUT ?? join(__dirname, 'results');
const benchStarted = performance.now();
const cores = machineInfo().nproc;

function log(line: string): void {
  const t = ((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${t}s] ${line} (load ${loadavg()[0]!.toFixed(2)})\n`);
}

function describe(r: LoadResult): string {
  return (
    `${r.stack} ${r.sockets} sockets @ ${r.targetRate} msg/s (achieved ${r.achievedRate}): ` +
    `CPU ${r.cpuMsPerMessage} ms/msg, ${r.cpuMsPer1kDeliveries} ms/1k deliveries; ` +
    (r.storeCommandsByName
      ? `store ${r.storeCommandsPerMessage} cmds/msg (${Object.entries(r.storeCommandsByName)
          .map(([name, n]) => `${name} ${n}`)
          .join(', ')}); `
      : '') +
    `ack p50/p99 ` +
    `${r.sendToAckMs.p50}/${r.sendToAckMs.p99} ms, recv p99 ${r.sendToReceiveMs.p99} ms; lost ${r.lostDeliveries + r.ackedNotStored}, ` +
    `dup ${r.duplicates}; generator ${r.clientCpuSeconds} s CPU, loop p99 ${r.loopDelayP99Ms} ms`
  );
}

function describeStairs(s: StaircaseResult): string {
  return (
    `${s.run.stack} staircase: ${s.steps.map((x) => `${x.rate}${x.held ? '✓' : '✗'}(${x.p99Ms})`).join(' ')} → ` +
    `${s.capacityRate} msg/s, ${s.capacityDeliveries} deliveries/s`
  );
}

/**
 * Where the staircase's ladder starts: half of what the two cores could carry at the CPU per message (servers and
 * the generator) the CPU run measured (at its rate little is batched, so this is well below the capacity: the
 * same starts, within 25 %, as 40 % of the estimate from the 200 msg/s run that every stack had before
 * 2026-12-07); the first repetition's ladder is kept for the others, so every repetition offers the same rates.
 */
function startRate(cpu: LoadResult): number {
  const cpuPerMessage = (cpu.serverCpuSeconds + cpu.clientCpuSeconds) / Math.max(1, cpu.sent);
  return Math.max(20, Math.round((0.5 * cores * 0.9) / cpuPerMessage));
}

async function loadPart(name: 'smallchats' | 'fanout', stacks: Stack[]): Promise<Array<Rep<LoadRep>>> {
  const small = name === 'smallchats';
  const loads = new Map<Stack, ChatLoad>();
  const reps: Array<Rep<LoadRep>> = [];
  try {
    // Both stacks' sockets at once: the connects are set-up, not a figure.
    await Promise.all(
      stacks.map(async (stack) => {
        const load = new ChatLoad(stack, small ? stack.smallChats : stack.chats);
        loads.set(stack, load);
        const seconds = small ? await load.connectMembers() : await load.connect(config.sockets);
        log(`${name}: ${stack.name}: ${load.size} sockets through nginx in ${seconds.toFixed(1)} s`);
      }),
    );
    const rate = small ? config.smallRate : config.rate;
    const cpuRate = small ? config.smallCpuRate : config.cpuRate;
    // Warm-up: JIT, connection pools and caches, so the first repetition is not the cold one.
    for (const stack of stacks) {
      await loads.get(stack)!.run(rate, 2);
      await loads.get(stack)!.run(rate * 2, 1);
    }
    const ladders = new Map<Stack, { startRate: number; firstRung: number }>();
    for (let r = 0; r < config.reps; r += 1) {
      const rep: Rep<LoadRep> = {};
      for (const stack of alternate(r, stacks)) {
        const load = loads.get(stack)!;
        // Small chats, full: the CPU run's senders send once just before it (LoadRep.primed), so every repetition's
        // CPU run finds the same cache state, whatever ran in between (bare's runs outlast the membership cache).
        const primed =
          small && stack.persistent ? await load.run(cpuRate * 2, config.cpuSeconds / 2) : undefined;
        if (primed) log(`${name} rep ${r + 1}: priming: ${describe(primed)}`);
        const cpu = await load.run(cpuRate, small ? config.cpuSeconds : config.fanoutCpuSeconds);
        log(`${name} rep ${r + 1}: ${describe(cpu)}`);
        // The latency run at the issue's rate: where a target reads it (small chats, full), or everywhere on request.
        const fixed =
          config.latencyRunsAll || (small && stack.persistent)
            ? await load.run(rate, config.fixedSeconds)
            : undefined;
        if (fixed) log(`${name} rep ${r + 1}: ${describe(fixed)}`);
        const ladder = ladders.get(stack) ?? { startRate: startRate(cpu), firstRung: config.firstRung };
        const climb = (firstRung: number) =>
          load.staircase({
            startRate: ladder.startRate,
            factor: config.stepFactor,
            stepSeconds: config.stepSeconds,
            maxSteps: config.maxSteps,
            firstRung,
            budgetMs: small ? config.smallBudgetMs : config.p99BudgetMs,
            metric: small ? 'ack' : 'receive',
          });
        let firstRung = ladder.firstRung;
        let stairs = await climb(firstRung);
        while (stairs.capacityRung < 0 && firstRung > 0) {
          // Not even the lowest rung climbed held: this repetition is below the first one; climb again from as many
          // rungs lower as later repetitions start below the first one's capacity.
          firstRung = Math.max(0, firstRung - config.rungsBelow);
          log(`${name} rep ${r + 1}: ${describeStairs(stairs)}; again from rung ${firstRung}`);
          stairs = await climb(firstRung);
        }
        if (!ladders.has(stack))
          ladders.set(stack, {
            startRate: ladder.startRate,
            firstRung: Math.max(0, stairs.capacityRung - config.rungsBelow),
          });
        log(`${name} rep ${r + 1}: ${describeStairs(stairs)}`);
        rep[stack.name] = { cpu, stairs, ...(fixed ? { fixed } : {}), ...(primed ? { primed } : {}) };
      }
      reps.push(rep);
    }
  } finally {
    for (const load of loads.values()) load.close();
  }
  return reps;
}

async function stormPart(stacks: Stack[]): Promise<Array<Rep<StormResult>>> {
  const reps: Array<Rep<StormResult>> = [];
  for (let r = 0; r < config.reps; r += 1) {
    const rep: Rep<StormResult> = {};
    for (const stack of alternate(r, stacks)) {
      const result = await reconnectStorm(stack, {
        count: config.stormSockets,
        victim: 0,
        holdSeconds: stack.persistent ? config.stormHoldSeconds : config.stormBareHoldSeconds,
        baseSeconds: config.stormBaseSeconds,
        timeoutSeconds: config.stormTimeoutSeconds,
        tag: String(r),
      });
      log(
        `storm rep ${r + 1}: ${stack.name}: ${result.sockets} sockets on ${result.victim}; ramp ${result.rampHandshakesPerSecond}/s ` +
          `${result.rampCpuMsPerHandshake} ms CPU/handshake; idle ${result.idleCpuPercentPer10k} %/10k; back and caught up in ` +
          `${result.recoverSeconds} s (${result.retries} retries ${JSON.stringify(result.errors)}, ${result.missing} missing), ${result.stormCpuMsPerHandshake} ms CPU/handshake` +
          (result.stormLookups === undefined
            ? ''
            : `; chat-api lookups: ramp ${result.rampLookups}, storm ${result.stormLookups}`) +
          (result.stormSyncsToChatApi === undefined
            ? ''
            : `; catch-ups asked of chat-api ${result.stormSyncsToChatApi}`) +
          (result.rampRedisPerHandshake
            ? `; Redis per handshake in the ramp ${JSON.stringify(result.rampRedisPerHandshake)}`
            : ''),
      );
      rep[stack.name] = result;
    }
    reps.push(rep);
  }
  return reps;
}

async function connectionsPart(
  stacks: Stack[],
): Promise<Partial<Record<'full' | 'bare', ConnectionsResult>>> {
  const out: Partial<Record<'full' | 'bare', ConnectionsResult>> = {};
  for (const stack of stacks) {
    const target = stack.name === 'bare' && out.full ? out.full.reached : config.connTarget;
    log(`${stack.name}: ramping idle sockets to ${target}`);
    const result = await rampConnections(
      stack,
      { target, seconds: config.connSeconds, holdSeconds: config.holdSeconds },
      log,
    );
    log(
      `${stack.name}: held ${result.reached} (${result.stopReason}); ${result.handshakesPerSecond} handshakes/s; ` +
        `RSS ${result.rssPerSocketKiB} KiB/socket; idle CPU ${result.idleCpuPercentPer10k}% per 10k`,
    );
    out[stack.name] = result;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const live = await stack.connectedPerReplica().catch(() => undefined);
      if (!live || live.every((n) => n === 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return out;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const plan: StackPlan = {
    chats: config.chats,
    usersPerChat: config.usersPerChat,
    replicas: 3,
    smallChats: parts.has('smallchats') || parts.has('storm') ? config.smallChats : 0,
    smallMinMembers: config.smallMinMembers,
    smallMaxMembers: config.smallMaxMembers,
  };
  log(
    `machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memTotalGiB} GiB, Node ${machine.node}; ` +
      `open-file limit ${openFileLimit()}; parts ${[...parts].join(',')}`,
  );
  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    machine: { ...machine, openFileLimit: openFileLimit() },
    loadAverage: { start: round(loadavg()[0]!, 2), end: Number.NaN },
    config,
    stacks: {},
    smallChats: [],
    fanout: [],
    storm: [],
    connections: {},
    services: {},
    durationSeconds: 0,
  };

  const needStacks = ['smallchats', 'fanout', 'storm', 'connections'].some((p) => parts.has(p));
  const stacks: Stack[] = [];
  try {
    if (needStacks) {
      log('starting the full and the bare stacks');
      // One after the other: starting a dozen processes at once on 2 shared cores can exceed their start timeout.
      stacks.push(await startFullStack(plan));
      if (withBare) stacks.push(await startBareStack(plan));
      for (const s of stacks) report.stacks[s.name] = s.description;
      log(`stacks up: ${config.smallChats} small chats, ${config.chats} fan-out chats`);
    }
    if (parts.has('smallchats')) report.smallChats = await loadPart('smallchats', stacks);
    if (parts.has('fanout')) report.fanout = await loadPart('fanout', stacks);
    if (parts.has('storm')) report.storm = await stormPart(stacks);
    if (parts.has('connections')) report.connections = await connectionsPart(stacks);
  } finally {
    for (const stack of stacks) await stack.stop();
  }

  if (parts.has('assistant')) {
    log(
      `assistant streaming: its own full stack with assistant replicas${withBare ? ' and bare stack' : ''}, the fake provider`,
    );
    report.assistant = await assistantStream(
      {
        chats: config.aiChats,
        socketsPerChat: config.aiSocketsPerChat,
        usersPerChat: config.aiUsersPerChat,
        tokens: config.aiTokens,
        tokenMs: config.aiTokenMs,
        coalesceMs: config.aiCoalesceMs,
        reps: config.reps,
        replicas: 3,
        assistantReplicas: 2,
        timeoutSeconds: config.aiTimeoutSeconds,
        bare: withBare,
      },
      log,
    ).catch((err: unknown) => failed('assistant', err));
  }

  if (parts.has('services')) {
    log('services/auth login bench (worker pool vs main thread)');
    report.services.login = await loginBench(config.loginSeconds, config.loginRounds, config.loginCost).catch(
      (err: unknown) => failed('login', err),
    );
    log('services/gateway bench (through gateway vs direct)');
    report.services.gateway = await gatewayBench(config.gatewaySeconds, config.gatewayRounds).catch(
      (err: unknown) => failed('gateway', err),
    );
  }

  report.loadAverage.end = round(loadavg()[0]!, 2);
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

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
