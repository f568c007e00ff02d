import type { AssistantStreamRep, AssistantStreamResult } from './assistant-stream';
import type { LoadResult, StaircaseResult } from './chat-load';
import type { ConnectionsResult } from './connections';
import type { GatewayBenchResult, LoginBenchResult } from './service-benches';
import { ratio, round, spread, type Spread } from './stats';
import type { StormResult } from './storm';

/** One repetition: what each stack measured (full and bare ran one after the other, in alternating order). */
export type Rep<T> = Partial<Record<'full' | 'bare', T>>;

export interface LoadRep {
  /**
   * The CPU run: a fixed rate neither stack is saturated at. Saturated, CPU per message grows with the queue (GC,
   * retries, timers), so a saturated stack's figure measures its backlog, not its cost (absent in older reports).
   */
  cpu?: LoadResult;
  /**
   * Small chats, full stack: the same senders as the CPU run, just before it, at twice its rate. The CPU run then
   * finds every sender's membership cached; this run finds whatever the runs before it left: in repetition 2, after
   * bare's runs (longer than the membership cache's 60 s), no sender is remembered.
   */
  primed?: LoadResult;
  /**
   * The latency run at the issue's rate (200 msg/s). Since 2026-12-07 only where a target reads it (small chats,
   * full stack) unless BENCH_LATENCY_RUNS=all; every stack had one before.
   */
  fixed?: LoadResult;
  stairs: StaircaseResult;
}

export interface BenchReport {
  generatedAt: string;
  machine: {
    nproc: number;
    cpuModel: string;
    memTotalGiB: number;
    node: string;
    kernel: string;
    openFileLimit: number;
  };
  loadAverage: { start: number; end: number };
  config: Record<string, number>;
  stacks: Partial<Record<'full' | 'bare', string>>;
  smallChats: Array<Rep<LoadRep>>;
  fanout: Array<Rep<LoadRep>>;
  storm: Array<Rep<StormResult>>;
  connections: Partial<Record<'full' | 'bare', ConnectionsResult>>;
  services: { login?: LoginBenchResult | undefined; gateway?: GatewayBenchResult | undefined };
  /** The assistant streaming part (full, and bare answering @cohortgpt from the same fake provider). */
  assistant?: AssistantStreamResult | undefined;
  durationSeconds: number;
}

/** One headline figure over the repetitions: each stack's median and range, and the per-repetition ratio's. */
export interface Figure {
  name: string;
  full: Spread;
  bare: Spread;
  /** full ÷ bare per repetition, then the median and range of those ratios. */
  ratio: Spread;
  target?: string;
  /** Whether the median meets the target (undefined without a target). */
  pass?: boolean;
}

function figure<T>(
  name: string,
  reps: Array<Rep<T>>,
  value: (r: T) => number,
  target?: {
    text: string;
    on: 'ratio' | 'full';
    check: (v: number) => boolean;
    /** Met only when every repetition gave a value (a storm that did not complete has none). */
    everyRepetition?: boolean;
  },
): Figure | undefined {
  if (reps.length === 0) return undefined;
  const full = reps.map((r) => (r.full ? value(r.full) : Number.NaN));
  const bare = reps.map((r) => (r.bare ? value(r.bare) : Number.NaN));
  const ratios = full.map((f, i) => ratio(f, bare[i]!, 3));
  const result: Figure = { name, full: spread(full), bare: spread(bare), ratio: spread(ratios) };
  if (target) {
    result.target = target.on === 'ratio' ? `full ÷ bare ${target.text}` : `full ${target.text}`;
    const v = target.on === 'ratio' ? result.ratio.median : result.full.median;
    const complete = !target.everyRepetition || ratios.every((r) => Number.isFinite(r));
    result.pass = complete && Number.isFinite(v) && target.check(v);
  }
  return result;
}

const perMessage = (r: LoadResult, seconds: number) => (seconds * 1000) / Math.max(1, r.sent);

/**
 * Whether a part made latency runs at 200 msg/s: the rows read only from them are left out of a run that made none
 * (by default the fan-out, since 2026-12-07). The target's row, small chats' p99, is always there.
 */
const latencyRun = (reps: Array<Rep<LoadRep>>) => reps.some((r) => r.full?.fixed ?? r.bare?.fixed);

export function figures(report: BenchReport): Figure[] {
  const c = report.config;
  const out: Array<Figure | false | undefined> = [];
  const s = report.smallChats;
  out.push(
    figure(
      `small chats: server CPU per stored message at ${c.smallCpuRate} msg/s (ms)`,
      s,
      (r) => (r.cpu ?? r.fixed)?.cpuMsPerMessage ?? Number.NaN,
      {
        text: '≤ 2',
        on: 'ratio',
        check: (v) => v <= 2,
      },
    ),
    figure(
      `small chats: store commands per stored message at ${c.smallCpuRate} msg/s (full only)`,
      s,
      (r) => (r.cpu ?? r.fixed)?.storeCommandsPerMessage ?? Number.NaN,
    ),
    figure(
      `small chats: store commands per stored message in the priming run (full only; no sender cached in rep. 2)`,
      s,
      (r) => r.primed?.storeCommandsPerMessage ?? Number.NaN,
    ),
    latencyRun(s) &&
      figure(
        `small chats: server CPU per stored message at ${c.smallRate} msg/s (ms; inflated where saturated)`,
        s,
        (r) => r.fixed?.cpuMsPerMessage ?? Number.NaN,
      ),
    figure(
      `small chats: stored messages/s with send→ack p99 ≤ ${c.smallBudgetMs} ms, 0 lost`,
      s,
      (r) => r.stairs.capacityRate,
      {
        text: '≥ 0.6',
        on: 'ratio',
        check: (v) => v >= 0.6,
      },
    ),
    figure(
      `small chats: send→ack p99 at ${c.smallRate} msg/s (ms)`,
      s,
      (r) => r.fixed?.sendToAckMs.p99 ?? Number.NaN,
      {
        text: '< 25 ms',
        on: 'full',
        check: (v) => v < 25,
      },
    ),
    latencyRun(s) &&
      figure(
        `small chats: send→ack p50 at ${c.smallRate} msg/s (ms)`,
        s,
        (r) => r.fixed?.sendToAckMs.p50 ?? Number.NaN,
      ),
    figure(`small chats: generator CPU per message at ${c.smallCpuRate} msg/s (ms)`, s, (r) =>
      r.cpu ? perMessage(r.cpu, r.cpu.clientCpuSeconds) : Number.NaN,
    ),
  );
  const f = report.fanout;
  out.push(
    figure(
      `fan-out: server CPU per 1,000 deliveries at ${c.cpuRate} msg/s (ms)`,
      f,
      (r) => (r.cpu ?? r.fixed)?.cpuMsPer1kDeliveries ?? Number.NaN,
      {
        text: '≤ 1.3',
        on: 'ratio',
        check: (v) => v <= 1.3,
      },
    ),
    latencyRun(f) &&
      figure(
        `fan-out: server CPU per 1,000 deliveries at ${c.rate} msg/s (ms; inflated where saturated)`,
        f,
        (r) => r.fixed?.cpuMsPer1kDeliveries ?? Number.NaN,
      ),
    figure(
      `fan-out: deliveries/s with recv p99 ≤ ${c.p99BudgetMs} ms, 0 lost`,
      f,
      (r) => r.stairs.capacityDeliveries,
      {
        text: '≥ 0.8',
        on: 'ratio',
        check: (v) => v >= 0.8,
      },
    ),
    latencyRun(f) &&
      figure(
        `fan-out: send→receive p99 at ${c.rate} msg/s (ms)`,
        f,
        (r) => r.fixed?.sendToReceiveMs.p99 ?? Number.NaN,
      ),
    latencyRun(f) &&
      figure(
        `fan-out: send→ack p99 at ${c.rate} msg/s (ms)`,
        f,
        (r) => r.fixed?.sendToAckMs.p99 ?? Number.NaN,
      ),
    figure(`fan-out: generator CPU per 1,000 deliveries at ${c.cpuRate} msg/s (ms)`, f, (r) =>
      r.cpu ? (r.cpu.clientCpuSeconds * 1e6) / Math.max(1, r.cpu.deliveries) : Number.NaN,
    ),
  );
  const st = report.storm;
  out.push(
    figure(
      `storm: seconds until all ${c.stormSockets} sockets are back and caught up (none: not all back in time)`,
      st,
      (r) => (r.missing > 0 ? Number.NaN : r.recoverSeconds),
      {
        text: '≤ 2',
        on: 'ratio',
        check: (v) => v <= 2,
        everyRepetition: true,
      },
    ),
    figure(
      'storm: server CPU per reconnect (handshake + sync + retries, ms)',
      st,
      (r) => r.stormCpuMsPerHandshake,
    ),
    figure(
      'handshake (ramp through nginx): server CPU per handshake (ms)',
      st,
      (r) => r.rampCpuMsPerHandshake,
      {
        text: '≤ 2',
        on: 'ratio',
        check: (v) => v <= 2,
      },
    ),
    figure('handshake (ramp through nginx): handshakes/s', st, (r) => r.rampHandshakesPerSecond),
    figure(
      'idle CPU per 10,000 sockets (% of a core; their replica, nginx, Redis)',
      st,
      (r) => r.idleCpuPercentPer10k,
      {
        text: '≤ 1.5',
        on: 'ratio',
        check: (v) => v <= 1.5,
      },
    ),
    figure(
      'idle CPU per 10,000 sockets elsewhere (the other processes: their background, not the sockets)',
      st,
      (r) => r.idleElsewherePercentPer10k ?? Number.NaN,
    ),
  );
  const loads = [...s, ...f];
  if (loads.length > 0 || st.length > 0) {
    const sum = (pick: (r: LoadRep) => number) =>
      loads.map((rep) => ({
        full: rep.full ? pick(rep.full) : Number.NaN,
        bare: rep.bare ? pick(rep.bare) : Number.NaN,
      }));
    const lost = sum(
      (r) =>
        (r.primed ? r.primed.lostDeliveries + r.primed.ackedNotStored : 0) +
        (r.cpu ? r.cpu.lostDeliveries + r.cpu.ackedNotStored : 0) +
        (r.fixed ? r.fixed.lostDeliveries + r.fixed.ackedNotStored : 0) +
        r.stairs.run.lostDeliveries +
        r.stairs.run.ackedNotStored,
    );
    const stormMissing = st.map((rep) => ({ full: rep.full?.missing ?? 0, bare: rep.bare?.missing ?? 0 }));
    const dups = sum(
      (r) =>
        (r.primed?.duplicates ?? 0) +
        (r.cpu?.duplicates ?? 0) +
        (r.fixed?.duplicates ?? 0) +
        r.stairs.run.duplicates,
    );
    const total = (rows: Array<{ full: number; bare: number }>, k: 'full' | 'bare') =>
      rows.reduce((a, b) => a + (Number.isFinite(b[k]) ? b[k] : 0), 0);
    const lostFull = total(lost, 'full') + total(stormMissing, 'full');
    const lostBare = total(lost, 'bare') + total(stormMissing, 'bare');
    const one = (v: number) => ({ median: v, min: v, max: v, values: [v] });
    out.push({
      name: 'lost deliveries + acked-not-stored + storm sockets not back (every run)',
      full: one(lostFull),
      bare: one(lostBare),
      ratio: one(Number.NaN),
      target: 'full 0',
      pass: lostFull === 0,
    });
    out.push({
      name: 'duplicate deliveries (every run)',
      full: one(total(dups, 'full')),
      bare: one(total(dups, 'bare')),
      ratio: one(Number.NaN),
      target: 'full 0',
      pass: total(dups, 'full') === 0,
    });
  }
  out.push(...assistantFigures(report));
  return out.filter((x): x is Figure => x !== undefined && x !== false);
}

/** Every delta a socket should have had and did not, repeated, or joined into a text other than the stored one. */
const assistantFaults = (r: AssistantStreamRep) =>
  r.lost + r.duplicates + r.mismatched + r.answersMissing + r.answersNotDone + r.tokensMissing;

function assistantFigures(report: BenchReport): Array<Figure | undefined> {
  const a = report.assistant;
  if (!a || a.reps.length === 0) return [];
  const reps = a.reps;
  const c = a.config;
  const load = `${c.chats} answers × ${c.socketsPerChat} sockets, ${c.tokenMs} ms/token, coalescing ${c.coalesceMs} ms`;
  return [
    figure(
      `assistant (${load}): per-token delay provider → socket p50 (ms)`,
      reps,
      (r) => r.tokenDelayMs.p50,
    ),
    figure(`assistant: per-token delay provider → socket p99 (ms)`, reps, (r) => r.tokenDelayMs.p99, {
      text: '≤ 50 ms',
      on: 'full',
      check: (v) => v <= 50,
    }),
    figure(
      `assistant: of which after the ${c.coalesceMs} ms coalescing, p50 (ms)`,
      reps,
      (r) => r.afterCoalesceMs.p50,
    ),
    figure(
      `assistant: of which after the ${c.coalesceMs} ms coalescing, p99 (ms)`,
      reps,
      (r) => r.afterCoalesceMs.p99,
    ),
    figure(
      `assistant: first token through the stack ÷ from the provider directly`,
      reps,
      (r) => r.firstTokenRatio,
    ),
    figure(`assistant: first token through the stack, p50 (ms)`, reps, (r) => r.firstTokenMs.p50),
    figure(`assistant: server CPU per delivered delta (µs)`, reps, (r) => r.cpuUsPerDelivery),
    figure(
      'assistant: lost + duplicated deltas + sockets whose deltas ≠ stored answer (every run)',
      reps,
      assistantFaults,
      { text: '0', on: 'full', check: (v) => v === 0 },
    ),
  ];
}

/** Server CPU per stored message by process group (medians over the repetitions), ms. */
export function cpuBreakdown(
  reps: Array<Rep<LoadRep>>,
  per: 'message' | '1k deliveries',
): Record<string, Rep<number>> {
  const group = (label: string) =>
    label.startsWith('realtime') || label.startsWith('bare-')
      ? 'realtime ×3'
      : label.startsWith('nginx')
        ? 'nginx'
        : label.startsWith('gateway')
          ? 'gateways'
          : label;
  const rows: Record<string, { full: number[]; bare: number[] }> = {};
  for (const rep of reps) {
    for (const side of ['full', 'bare'] as const) {
      const r = rep[side]?.cpu ?? rep[side]?.fixed;
      if (!r) continue;
      const divisor = per === 'message' ? r.sent : r.deliveries / 1000;
      const grouped: Record<string, number> = {};
      for (const [label, seconds] of Object.entries(r.cpuByProcess)) {
        if (!Number.isFinite(seconds)) continue;
        grouped[group(label)] = (grouped[group(label)] ?? 0) + seconds;
      }
      for (const [g, seconds] of Object.entries(grouped)) {
        rows[g] ??= { full: [], bare: [] };
        rows[g][side].push((seconds * 1000) / Math.max(1, divisor));
      }
    }
  }
  return Object.fromEntries(
    Object.entries(rows).map(([g, v]) => [
      g,
      {
        ...(v.full.length ? { full: spread(v.full, 3).median } : {}),
        ...(v.bare.length ? { bare: spread(v.bare, 3).median } : {}),
      },
    ]),
  );
}

const fmt = (n: number | undefined): string => {
  if (n === undefined || Number.isNaN(n)) return '–';
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
};

/** Median (range); `[k of n]` when only k repetitions gave a value (the median is over those). */
const fmtSpread = (s: Spread): string => {
  if (Number.isNaN(s.median)) return '–';
  const given = s.values.filter((v) => Number.isFinite(v)).length;
  const partial = given < s.values.length ? ` [${given} of ${s.values.length}]` : '';
  return (s.min === s.max ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`) + partial;
};

function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cell = (v: string | number | undefined) => (typeof v === 'number' || v === undefined ? fmt(v) : v);
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`# Benchmark results (${report.generatedAt})`);
  out.push('');
  out.push(
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.memTotalGiB} GiB RAM, Node ${m.node}, Linux ${m.kernel}; open-file limit ` +
      `${fmt(m.openFileLimit)} per process. Load average ${report.loadAverage.start} at the start, ${report.loadAverage.end} at the end. ` +
      `Whole run: ${report.durationSeconds} s. ${report.config.reps} repetitions, full and bare alternating; each cell is the ` +
      'median (min–max) over the repetitions; ratios are taken per repetition, then their median.',
  );
  out.push('');
  for (const [name, description] of Object.entries(report.stacks)) out.push(`- **${name}**: ${description}`);
  out.push('');
  out.push(
    table(
      ['figure', 'full', 'bare', 'full ÷ bare', 'target', ''],
      figures(report).map((f) => [
        f.name,
        fmtSpread(f.full),
        fmtSpread(f.bare),
        fmtSpread(f.ratio),
        f.target ?? '',
        f.pass === undefined ? '' : f.pass ? 'met' : 'NOT met',
      ]),
    ),
  );
  out.push('');
  for (const [title, reps, per] of [
    [
      'Small chats: server CPU per stored message by process (ms, medians, the CPU run)',
      report.smallChats,
      'message',
    ],
    [
      'Fan-out: server CPU per 1,000 deliveries by process (ms, medians, the CPU run)',
      report.fanout,
      '1k deliveries',
    ],
  ] as const) {
    if (reps.length === 0) continue;
    out.push(`## ${title}`);
    out.push('');
    out.push(
      table(
        ['process', 'full', 'bare'],
        Object.entries(cpuBreakdown(reps, per)).map(([g, v]) => [g, v.full, v.bare]),
      ),
    );
    out.push('');
  }
  for (const [title, reps] of [
    ['Small chats: staircases (rate msg/s ✓ held / ✗ not, p99 ms)', report.smallChats],
    ['Fan-out: staircases (rate msg/s ✓ held / ✗ not, recv p99 ms)', report.fanout],
  ] as const) {
    if (reps.length === 0) continue;
    out.push(`## ${title}`);
    out.push('');
    reps.forEach((rep, i) => {
      for (const side of ['full', 'bare'] as const) {
        const r = rep[side];
        if (!r) continue;
        out.push(
          `- rep ${i + 1} ${side}: ${r.stairs.steps.map((x) => `${x.rate}${x.held ? '✓' : '✗'}${x.p99Ms}`).join(' ')} → ` +
            `**${r.stairs.capacityRate} msg/s** (staircase: generator ${r.stairs.run.clientCpuSeconds} s CPU, loop delay p99 ${r.stairs.run.loopDelayP99Ms} ms)`,
        );
      }
    });
    out.push('');
  }
  if (report.storm.length > 0) {
    out.push('## Reconnect storms');
    out.push('');
    out.push(
      table(
        [
          'rep',
          'stack',
          'sockets',
          'ramp /s',
          'ramp CPU ms/hs',
          'idle %/10k',
          'idle by process (% of a core, |x| ≥ 0.5)',
          'recover s',
          'retries',
          'storm CPU ms/reconnect',
          'missing',
        ],
        report.storm.flatMap((rep, i) =>
          (['full', 'bare'] as const)
            .filter((side) => rep[side])
            .map((side) => {
              const r = rep[side]!;
              return [
                i + 1,
                side,
                r.sockets,
                r.rampHandshakesPerSecond,
                r.rampCpuMsPerHandshake,
                r.idleCpuPercentPer10k,
                Object.entries(r.idleCpuByProcess ?? {})
                  .filter(([, pct]) => Math.abs(pct) >= 0.5)
                  .map(([label, pct]) => `${label} ${pct}`)
                  .join(', '),
                r.recoverSeconds,
                r.retries,
                r.stormCpuMsPerHandshake,
                r.missing,
              ];
            }),
        ),
      ),
    );
    out.push('');
  }
  for (const [name, c] of Object.entries(report.connections)) {
    out.push(
      `**Idle ramp, ${name}**: ${fmt(c.reached)} of ${fmt(c.target)} held (${c.stopReason}) in ${c.rampSeconds} s, ` +
        `${fmt(c.handshakesPerSecond)} handshakes/s (${c.rampCpuSecondsPer1k} s CPU per 1k); RSS ${c.rssPerSocketKiB} KiB/socket; ` +
        `idle CPU ${c.idleCpuPercentPer10k}% per 10k sockets.`,
    );
    out.push('');
  }
  if (report.assistant) out.push(renderAssistant(report.assistant), '');
  const { login, gateway } = report.services;
  if (login) {
    out.push(
      `**Login** (bcryptjs cost ${login.cost}): worker pool ${login.workerPoolLoginsPerSecond}/s, main thread ` +
        `${login.mainThreadLoginsPerSecond}/s → **${login.ratio}×**.`,
    );
    out.push('');
  }
  if (gateway) {
    out.push(
      `**Gateway** (GET /api/chats): direct ${fmt(gateway.directRps)} req/s, through the gateway ${fmt(gateway.gatewayRps)} req/s → **${gateway.ratio}**.`,
    );
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** Each repetition's result on each stack that ran it, in repetition order. */
function assistantRuns(
  a: AssistantStreamResult,
): Array<{ rep: number; side: 'full' | 'bare'; r: AssistantStreamRep }> {
  return a.reps.flatMap((rep, i) =>
    (['full', 'bare'] as const).flatMap((side) => {
      const r = rep[side];
      return r ? [{ rep: i + 1, side, r }] : [];
    }),
  );
}

/** CPU per delivery grouped by kind of process, one column per repetition and stack. */
function assistantCpuRows(runs: Array<{ r: AssistantStreamRep }>): Array<Array<string | number>> {
  const group = (label: string) =>
    /^(realtime|assistant|gateway|nginx|bare)/.exec(label)?.[1] ?? label.replace(/-\d+$/, '');
  const groups = new Map<string, number[]>();
  runs.forEach(({ r }, i) => {
    for (const [label, seconds] of Object.entries(r.cpuByProcess)) {
      const row = groups.get(group(label)) ?? runs.map(() => 0);
      row[i] = row[i]! + (seconds * 1e6) / Math.max(1, r.deliveries);
      groups.set(group(label), row);
    }
  });
  return [...groups.entries()]
    .sort((x, y) => y[1][0]! - x[1][0]!)
    .map(([g, row]) => [g, ...row.map((v) => round(v, 2))]);
}

/** The assistant part's section: its load, then each repetition's delays, breakdown, counts and CPU per stack. */
function renderAssistant(a: AssistantStreamResult): string {
  const c = a.config;
  const runs = assistantRuns(a);
  const stacks = Object.entries(a.stacks).map(
    ([name, s]) =>
      `- **${name}**: ${s.description}; up in ${s.setupSeconds} s, sockets connected in ${s.connectSeconds} s`,
  );
  const lines = [
    '## Assistant streaming (issue 16)',
    '',
    `${c.chats} group chats of ${c.socketsPerChat} sockets (${c.usersPerChat} users each, the ` +
      `assistant a member); per repetition one member of every chat asks @cohortgpt at once; the fake provider ` +
      `streams ${c.tokens} chunks, one every ${c.tokenMs} ms, each stamped with the time it was written; ` +
      `AI_COALESCE_MS ${c.coalesceMs}. Whole part ${a.durationSeconds} s.`,
    '',
    ...stacks,
    '',
    table(
      [
        'rep',
        'stack',
        'token delay p50 / p99',
        'coalescing p50 / p99',
        'after coalescing p50 / p99',
        'to first socket p99',
        'fan-out spread p99',
        'first token p50 (÷ direct p50)',
        'before provider p50',
        'deltas / delivered / expected',
        'lost / dup / ≠ stored',
        'server µs/delivery',
        'client CPU s, loop p99',
      ],
      runs.map(({ rep, side, r }) => [
        rep,
        side,
        `${fmt(r.tokenDelayMs.p50)} / ${fmt(r.tokenDelayMs.p99)}`,
        `${fmt(r.coalesceWaitMs.p50)} / ${fmt(r.coalesceWaitMs.p99)}`,
        `${fmt(r.afterCoalesceMs.p50)} / ${fmt(r.afterCoalesceMs.p99)}`,
        r.toFirstSocketMs.p99,
        r.fanoutSpreadMs.p99,
        `${fmt(r.firstTokenMs.p50)} (${fmt(r.firstTokenRatio)}× ${fmt(r.providerFirstTokenMs.p50)})`,
        r.beforeProviderMs.p50,
        `${fmt(r.deltaEvents)} / ${fmt(r.deliveries)} / ${fmt(r.expectedDeliveries)}`,
        `${r.lost} / ${r.duplicates} / ${r.mismatched + r.answersMissing + r.answersNotDone + r.tokensMissing}`,
        r.cpuUsPerDelivery,
        `${fmt(r.clientCpuSeconds)}, ${fmt(r.loopDelayP99Ms)}`,
      ]),
    ),
    '',
    'Server CPU per delivered delta by process (µs; each repetition and stack):',
    '',
    table(['process', ...runs.map(({ rep, side }) => `rep ${rep} ${side}`)], assistantCpuRows(runs)),
  ];
  return lines.join('\n');
}

/** The console summary: every headline figure with its spread. */
export function renderSummary(report: BenchReport): string {
  const rows = figures(report);
  const width = Math.max(...rows.map((f) => f.name.length), 10);
  const lines = [
    `Medians (min–max) over ${report.config.reps} alternating repetitions; load average ${report.loadAverage.start} → ${report.loadAverage.end}:`,
  ];
  for (const f of rows) {
    lines.push(
      `  ${f.pass === undefined ? '       ' : f.pass ? 'met    ' : 'NOT met'}  ${f.name.padEnd(width)}  full ${fmtSpread(f.full)}  bare ${fmtSpread(f.bare)}  ÷ ${fmtSpread(f.ratio)}${f.target ? `  (target ${f.target})` : ''}`,
    );
  }
  const login = report.services.login;
  if (login) lines.push(`  login: worker pool ÷ main thread ${login.ratio} (cost ${login.cost})`);
  const gateway = report.services.gateway;
  if (gateway) lines.push(`  gateway ÷ direct ${gateway.ratio}`);
  lines.push(`  whole run ${round(report.durationSeconds)} s`);
  return lines.join('\n');
}
