import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@cohort/testkit';
import { round } from './stats';

/** Runs one of the services' own benches as a child process and returns the JSON line it prints last. */
async function runBench(
  workspace: string,
  entry: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ json: unknown; seconds: number; output: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', entry], {
    cwd: join(REPO_ROOT, workspace),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const jsonLine = output
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('{') && line.endsWith('}'));
  if (!jsonLine)
    throw new Error(`${workspace} bench printed no JSON line (exit ${code}):\n${output.slice(-2000)}`);
  return {
    json: JSON.parse(jsonLine) as unknown,
    seconds: round((performance.now() - started) / 1000),
    output,
  };
}

export interface LoginBenchResult {
  cost: number;
  seconds: number;
  workerPoolLoginsPerSecond: number;
  mainThreadLoginsPerSecond: number;
  /** worker pool / main thread (target ≥ 1.8 on 2 cores). */
  ratio: number;
  workerPoolHealthzP99Ms: number;
  mainThreadHealthzP99Ms: number;
  wallSeconds: number;
}

/** One variant's row; the auth bench printed `results[{mode, loginsPerSecond…}]` before, `rows[{variant, 'logins/s'…}]` now. */
type LoginRow = Record<string, unknown>;

function loginRow(
  rows: LoginRow[],
  name: string,
): { loginsPerSecond: number; healthzP99Ms: number } | undefined {
  const row = rows.find((r) => r.variant === name || r.mode === name);
  if (!row) return undefined;
  return {
    loginsPerSecond: Number(row['logins/s'] ?? row.loginsPerSecond),
    healthzP99Ms: Number(row['healthz p99 ms'] ?? row.healthzP99Ms),
  };
}

/** services/auth/bench/login.bench.ts: bcrypt in auth's worker pool versus on the main thread. */
export async function loginBench(seconds: number, rounds: number, cost: number): Promise<LoginBenchResult> {
  const { json, seconds: wall } = await runBench(
    'services/auth',
    'bench/login.bench.ts',
    { BENCH_SECONDS: String(seconds), BENCH_ROUNDS: String(rounds), BENCH_COST: String(cost) },
    seconds * rounds * 2 * 1000 + 90_000,
  );
  const parsed = json as { cost: number; seconds: number; rows?: LoginRow[]; results?: LoginRow[] };
  const rows = parsed.rows ?? parsed.results ?? [];
  const pool = loginRow(rows, 'worker-pool');
  const main = loginRow(rows, 'main-thread');
  if (!pool || !main) throw new Error(`unexpected login bench output: ${JSON.stringify(json)}`);
  return {
    cost: parsed.cost,
    seconds: parsed.seconds,
    workerPoolLoginsPerSecond: round(pool.loginsPerSecond),
    mainThreadLoginsPerSecond: round(main.loginsPerSecond),
    ratio: round(pool.loginsPerSecond / main.loginsPerSecond, 2),
    workerPoolHealthzP99Ms: round(pool.healthzP99Ms),
    mainThreadHealthzP99Ms: round(main.healthzP99Ms),
    wallSeconds: wall,
  };
}

export interface GatewayBenchResult {
  connections: number;
  seconds: number;
  rounds: number;
  directRps: number;
  gatewayRps: number;
  directP99Ms: number;
  gatewayP99Ms: number;
  /** through gateway / direct (target ≥ 0.5). */
  ratio: number;
  wallSeconds: number;
}

interface GatewaySide {
  'req/s': number;
  'p99 ms': number;
}

/** services/gateway/bench/gateway.bench.ts: GET /api/chats through the gateway versus straight to chat-api. */
export async function gatewayBench(seconds: number, rounds: number): Promise<GatewayBenchResult> {
  const { json, seconds: wall } = await runBench(
    'services/gateway',
    'bench/gateway.bench.ts',
    { BENCH_SECONDS: String(seconds), BENCH_ROUNDS: String(rounds) },
    (seconds * rounds * 2 + 4) * 1000 + 60_000,
  );
  const parsed = json as {
    connections: number;
    seconds: number;
    rounds: number;
    direct: GatewaySide;
    gateway: GatewaySide;
    ratio: number;
  };
  return {
    connections: parsed.connections,
    seconds: parsed.seconds,
    rounds: parsed.rounds,
    directRps: parsed.direct['req/s'],
    gatewayRps: parsed.gateway['req/s'],
    directP99Ms: parsed.direct['p99 ms'],
    gatewayP99Ms: parsed.gateway['p99 ms'],
    ratio: parsed.ratio,
    wallSeconds: wall,
  };
}
