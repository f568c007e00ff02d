import type { ConnectionsResult } from './connections';
import type { FanoutResult } from './fanout';
import type { GatewayBenchResult, LoginBenchResult } from './service-benches';
import { ratio } from './stats';

export interface StackFanout {
  connectSeconds: number;
  /**
   * The send path alone: one socket per chat (the senders) at BENCH_RATE, so each message reaches only its
   * sender and the ack latency is not queued behind 100 deliveries per message.
   */
  sendersOnly: FanoutResult | undefined;
  /** The fixed-rate run (BENCH_RATE for BENCH_SECONDS). */
  fixed: FanoutResult;
  /** Every run of the capacity search, the fixed one first. */
  steps: FanoutResult[];
  /** The best run that held the p99 budget. */
  capacity: { deliveriesPerSecond: number; rate: number; p99Ms: number } | undefined;
  /** The same sockets at rate R and 2R (R → 2R when R held; R/2 → R otherwise). */
  rateDoubling: { base: FanoutResult; doubled: FanoutResult } | undefined;
  /** N and 2N sockets at the same rate (the capacity rate, or the fixed rate when nothing held). */
  socketDoubling: { base: FanoutResult; doubled: FanoutResult } | undefined;
}

export interface TargetCheck {
  name: string;
  value: number;
  target: string;
  pass: boolean;
}

export interface BenchReport {
  generatedAt: string;
  machine: {
    nproc: number;
    cpuModel: string;
    memTotalGiB: number;
    node: string;
    kernel: string;
    loadAverageAtStart: number;
    openFileLimit: number;
  };
  config: Record<string, number>;
  stacks: Partial<Record<'full' | 'bare', string>>;
  fanout: Partial<Record<'full' | 'bare', StackFanout>>;
  connections: Partial<Record<'full' | 'bare', ConnectionsResult>>;
  services: { login?: LoginBenchResult | undefined; gateway?: GatewayBenchResult | undefined };
  targets: TargetCheck[];
  durationSeconds: number;
}

const fmt = (n: number | undefined): string => {
  if (n === undefined || Number.isNaN(n)) return '–';
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
};

function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cell = (v: string | number | undefined) => (typeof v === 'number' || v === undefined ? fmt(v) : v);
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function fanoutRow(label: string, r: FanoutResult | undefined): Array<string | number | undefined> {
  if (!r) return [label, '–'];
  return [
    label,
    r.sockets,
    r.targetRate,
    r.achievedRate,
    r.deliveriesPerSecond,
    r.sendToReceiveMs.p50,
    r.sendToReceiveMs.p95,
    r.sendToReceiveMs.p99,
    r.sendToAckMs.p99,
    r.lostDeliveries + r.ackedNotStored,
    r.duplicates,
    r.cpuMsPer1kDeliveries,
  ];
}

const FANOUT_HEADERS = [
  'run',
  'sockets',
  'rate msg/s',
  'achieved',
  'deliveries/s',
  'recv p50 ms',
  'recv p95 ms',
  'recv p99 ms',
  'ack p99 ms',
  'lost',
  'dup',
  'server CPU ms / 1k deliveries',
];

/** Growth when one input doubles: how much each figure changed (×). */
function growth(base: FanoutResult | undefined, doubled: FanoutResult | undefined) {
  if (!base || !doubled) return undefined;
  return {
    deliveriesPerSecond: ratio(doubled.deliveriesPerSecond, base.deliveriesPerSecond),
    p50: ratio(doubled.sendToReceiveMs.p50, base.sendToReceiveMs.p50),
    p99: ratio(doubled.sendToReceiveMs.p99, base.sendToReceiveMs.p99),
    ackP99: ratio(doubled.sendToAckMs.p99, base.sendToAckMs.p99),
    cpuPerDelivery: ratio(doubled.cpuMsPer1kDeliveries, base.cpuMsPer1kDeliveries),
    serverCpu: ratio(doubled.serverCpuSeconds / doubled.seconds, base.serverCpuSeconds / base.seconds),
  };
}

export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`# Benchmark results (${report.generatedAt})`);
  out.push('');
  out.push(
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.memTotalGiB} GiB RAM, Node ${m.node}, Linux ${m.kernel}; ` +
      `load average ${m.loadAverageAtStart} at start; open-file limit ${fmt(m.openFileLimit)} per process. ` +
      `Whole run: ${report.durationSeconds} s. Load generator and servers share the machine.`,
  );
  out.push('');
  for (const [name, description] of Object.entries(report.stacks)) out.push(`- **${name}**: ${description}`);
  out.push('');

  out.push('## Targets');
  out.push('');
  out.push(
    table(
      ['figure', 'value', 'target', ''],
      report.targets.map((t) => [t.name, t.value, t.target, t.pass ? 'met' : 'NOT met']),
    ),
  );
  out.push('');

  out.push('## Fan-out');
  out.push('');
  out.push(
    `${fmt(report.config.sockets)} sockets through nginx in ${report.config.chats} chats; the first socket of each chat sends, ` +
      `round robin, open loop. Latency is send → \`chat:new\` at each socket; lost counts deliveries of stored (full, checked ` +
      `with \`chat:sync\`) or acknowledged (bare) messages that never arrived. Capacity: the best run whose p99 stayed within ` +
      `${report.config.p99BudgetMs} ms with nothing lost.`,
  );
  out.push('');
  for (const [name, f] of Object.entries(report.fanout)) {
    out.push(`### ${name}`);
    out.push('');
    out.push(
      table(FANOUT_HEADERS, [
        ...f.steps.map((s, i) => fanoutRow(i === 0 ? 'fixed rate' : `step ${i}`, s)),
        ...(f.socketDoubling ? [fanoutRow('2 × sockets', f.socketDoubling.doubled)] : []),
      ]),
    );
    out.push('');
    out.push(
      f.capacity
        ? `Capacity within budget: **${fmt(f.capacity.deliveriesPerSecond)} deliveries/s** at ${f.capacity.rate} msg/s (p99 ${f.capacity.p99Ms} ms).`
        : 'No run held the p99 budget.',
    );
    out.push('');
  }
  const full = report.fanout.full;
  const bare = report.fanout.bare;
  if (full && bare) {
    out.push('### Full ÷ bare');
    out.push('');
    out.push(
      table(
        ['figure', 'full', 'bare', 'full ÷ bare'],
        [
          [
            'capacity deliveries/s (p99 within budget)',
            full.capacity?.deliveriesPerSecond,
            bare.capacity?.deliveriesPerSecond,
            ratio(full.capacity?.deliveriesPerSecond ?? 0, bare.capacity?.deliveriesPerSecond ?? Number.NaN),
          ],
          [
            `recv p99 at ${report.config.rate} msg/s (ms)`,
            full.fixed.sendToReceiveMs.p99,
            bare.fixed.sendToReceiveMs.p99,
            ratio(full.fixed.sendToReceiveMs.p99, bare.fixed.sendToReceiveMs.p99),
          ],
          [
            `ack p99 at ${report.config.rate} msg/s (ms)`,
            full.fixed.sendToAckMs.p99,
            bare.fixed.sendToAckMs.p99,
            ratio(full.fixed.sendToAckMs.p99, bare.fixed.sendToAckMs.p99),
          ],
          [
            `senders only (no fan-out): ack p99 at ${report.config.rate} msg/s (ms)`,
            full.sendersOnly?.sendToAckMs.p99,
            bare.sendersOnly?.sendToAckMs.p99,
            ratio(
              full.sendersOnly?.sendToAckMs.p99 ?? Number.NaN,
              bare.sendersOnly?.sendToAckMs.p99 ?? Number.NaN,
            ),
          ],
          [
            'server CPU ms per 1k deliveries',
            full.fixed.cpuMsPer1kDeliveries,
            bare.fixed.cpuMsPer1kDeliveries,
            ratio(full.fixed.cpuMsPer1kDeliveries, bare.fixed.cpuMsPer1kDeliveries),
          ],
        ],
      ),
    );
    out.push('');
  }
  const growthRows: Array<Array<string | number | undefined>> = [];
  for (const [name, f] of Object.entries(report.fanout)) {
    for (const [what, g] of [
      [
        `rate × 2 (${f.rateDoubling?.base.targetRate} → ${f.rateDoubling?.doubled.targetRate} msg/s)`,
        growth(f.rateDoubling?.base, f.rateDoubling?.doubled),
      ],
      [
        `sockets × 2 (${f.socketDoubling?.base.sockets} → ${f.socketDoubling?.doubled.sockets})`,
        growth(f.socketDoubling?.base, f.socketDoubling?.doubled),
      ],
    ] as const) {
      if (g)
        growthRows.push([
          name,
          what,
          g.deliveriesPerSecond,
          g.serverCpu,
          g.cpuPerDelivery,
          g.p50,
          g.p99,
          g.ackP99,
        ]);
    }
  }
  if (growthRows.length > 0) {
    out.push('### Growth when one input doubles (× change)');
    out.push('');
    out.push(
      table(
        [
          'stack',
          'doubled',
          'deliveries/s',
          'server CPU/s',
          'CPU per delivery',
          'recv p50',
          'recv p99',
          'ack p99',
        ],
        growthRows,
      ),
    );
    out.push('');
    out.push(
      'Linear cost shows as deliveries/s × 2 with CPU per delivery × 1; a CPU-per-delivery above 1 means each added socket or message costs more than the last.',
    );
    out.push('');
  }

  out.push('## Connections (idle, authenticated, websocket)');
  out.push('');
  out.push(
    'Sockets go straight to the replicas (round robin) from several client processes bound to 127.0.1.x; each answers ' +
      'heartbeats and does nothing else. RSS per socket is the replica RSS growth divided by the sockets it holds; idle CPU ' +
      `is measured over ${report.config.holdSeconds} s of holding (Engine.IO pings every 25 s, presence refresh every 10 s).`,
  );
  out.push('');
  for (const [name, c] of Object.entries(report.connections)) {
    out.push(
      `**${name}**: ${fmt(c.reached)} of ${fmt(c.target)} held (${c.stopReason}) in ${c.rampSeconds} s, ${fmt(c.handshakesPerSecond)} handshakes/s ` +
        `(${c.rampCpuSecondsPer1k} server CPU s per 1k), ${c.failed} failed, ${c.dropped} dropped; ` +
        `RSS ${c.rssPerSocketKiB} KiB/socket; idle CPU ${c.idleCpuPercent}% of a core (${c.idleCpuPercentPer10k}% per 10k sockets).` +
        (Object.keys(c.errors).length > 0 ? ` Errors: ${JSON.stringify(c.errors)}.` : ''),
    );
    out.push('');
    out.push(
      table(
        [
          'replica',
          'sockets',
          'reported',
          'RSS before MiB',
          'RSS after MiB',
          'KiB / socket',
          'idle CPU %',
          'fd limit',
        ],
        c.replicas.map((r) => [
          r.label,
          r.sockets,
          r.reported,
          r.rssBeforeMiB,
          r.rssAfterMiB,
          r.rssPerSocketKiB,
          r.idleCpuPercent,
          r.openFileLimit,
        ]),
      ),
    );
    out.push('');
  }

  out.push('## Service benches');
  out.push('');
  const { login, gateway } = report.services;
  if (login) {
    out.push(
      `**Login** (services/auth/bench, bcryptjs cost ${login.cost}, ${login.seconds} s per mode): worker pool ${login.workerPoolLoginsPerSecond}/s, ` +
        `main thread ${login.mainThreadLoginsPerSecond}/s → **${login.ratio}×**; /healthz p99 meanwhile ${login.workerPoolHealthzP99Ms} ms vs ${login.mainThreadHealthzP99Ms} ms.`,
    );
    out.push('');
  }
  if (gateway) {
    out.push(
      `**Gateway** (services/gateway/bench, GET /api/chats, ${gateway.connections} connections, ${gateway.rounds} × ${gateway.seconds} s per side): ` +
        `direct ${fmt(gateway.directRps)} req/s (p99 ${gateway.directP99Ms} ms), through the gateway ${fmt(gateway.gatewayRps)} req/s ` +
        `(p99 ${gateway.gatewayP99Ms} ms) → **${gateway.ratio}** of direct.`,
    );
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** The console summary: the targets and the headline figures. */
export function renderSummary(report: BenchReport): string {
  const lines = ['Targets (same machine, same run):'];
  const width = Math.max(...report.targets.map((t) => t.name.length), 10);
  for (const t of report.targets) {
    lines.push(
      `  ${t.pass ? 'met    ' : 'NOT met'}  ${t.name.padEnd(width)}  ${fmt(t.value).padStart(8)}  (target ${t.target})`,
    );
  }
  for (const [name, f] of Object.entries(report.fanout)) {
    lines.push(
      `  ${name} fan-out: ${fmt(f.fixed.deliveriesPerSecond)} deliveries/s at ${f.fixed.targetRate} msg/s, recv p50/p95/p99 ` +
        `${f.fixed.sendToReceiveMs.p50}/${f.fixed.sendToReceiveMs.p95}/${f.fixed.sendToReceiveMs.p99} ms; capacity ` +
        `${fmt(f.capacity?.deliveriesPerSecond)} deliveries/s`,
    );
  }
  for (const [name, c] of Object.entries(report.connections)) {
    lines.push(
      `  ${name} connections: ${fmt(c.reached)} held [${c.replicas.map((r) => r.sockets).join(' / ')}], ${c.rssPerSocketKiB} KiB/socket, idle CPU ${c.idleCpuPercent}%`,
    );
  }
  return lines.join('\n');
}
