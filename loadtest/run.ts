/**
 * `npm run loadtest`: starts the local cluster (nginx, 2 gateways, auth, chat-api, 3 realtime replicas, Redis,
 * the embedded store), runs the artillery scenarios against nginx, writes artillery's JSON reports to
 * loadtest/reports/ and exits non-zero when a scenario's `ensure` checks (or artillery itself) fail.
 *
 *   node --conditions=source --import tsx loadtest/run.ts [smoke|load] [scenario …]
 *
 * artillery (~590 MB) lives in loadtest/node_modules, installed here on first use, not in the workspaces.
 * LOADTEST_BCRYPT_COST (default 4 in smoke mode, 12 in load mode) sets auth's hashing cost.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '@cohort/testkit';

const HERE = __dirname;
const ARTILLERY = join(HERE, 'node_modules', '.bin', 'artillery');
const REPORTS = join(HERE, 'reports');
const SCENARIOS = ['http', 'socketio'];

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = HERE): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Installs artillery into loadtest/node_modules when it is missing (browsers skipped: no Playwright runs). */
async function ensureArtillery(): Promise<void> {
  if (existsSync(ARTILLERY)) return;
  const version = (
    JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  ).dependencies.artillery;
  process.stdout.write(`installing artillery ${version} into loadtest/node_modules (once, ~1 minute)…\n`);
  const npmArgs = ['install', '--no-audit', '--no-fund', '--prefix', HERE];
  // Other engineers may be installing at the same time: serialize on the shared lock when flock exists.
  const [command, args] = existsSync('/usr/bin/flock')
    ? ['/usr/bin/flock', ['/tmp/cohort-npm.lock', 'npm', ...npmArgs]]
    : ['npm', npmArgs];
  const code = await run(command, args, { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' });
  if (code !== 0 || !existsSync(ARTILLERY)) throw new Error(`installing artillery failed (exit ${code})`);
}

async function main(): Promise<void> {
  const [modeArg, ...scenarioArgs] = process.argv.slice(2);
  const mode = modeArg ?? 'smoke';
  if (mode !== 'smoke' && mode !== 'load') throw new Error(`mode must be smoke or load, got ${mode}`);
  const scenarios = scenarioArgs.length > 0 ? scenarioArgs : SCENARIOS;
  for (const s of scenarios) {
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (have: ${SCENARIOS.join(', ')})`);
  }
  const started = performance.now();
  await ensureArtillery();
  mkdirSync(REPORTS, { recursive: true });

  const cluster = await startCluster({
    realtimeReplicas: 3,
    gateways: 2,
    env: {
      BCRYPT_COST: process.env.LOADTEST_BCRYPT_COST ?? (mode === 'smoke' ? '4' : '12'),
      // Every virtual user comes from 127.0.0.1: per-IP login limits would measure the limiter.
      LOGIN_IP_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
    },
  });
  process.stdout.write(
    `cluster up at ${cluster.url} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );

  const failures: string[] = [];
  try {
    for (const scenario of scenarios) {
      const report = join(REPORTS, `${scenario}.json`);
      const code = await run(
        ARTILLERY,
        [
          'run',
          '--environment',
          mode,
          '--target',
          cluster.url,
          '--output',
          report,
          join(HERE, 'scenarios', `${scenario}.yml`),
        ],
        {
          ...process.env,
          ARTILLERY_DISABLE_TELEMETRY: 'true',
          // A stubbed posthog-node: no telemetry call, and no ~12 s of retries at exit without egress.
          NODE_OPTIONS:
            `${process.env.NODE_OPTIONS ?? ''} --require=${join(HERE, 'telemetry-stub.cjs')}`.trim(),
        },
      );
      process.stdout.write(`${scenario}: artillery exited ${code}; report ${report}\n`);
      if (code !== 0) failures.push(`${scenario} (exit ${code})`);
    }
  } finally {
    await cluster.stop();
  }
  process.stdout.write(
    `loadtest ${mode} finished in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  if (failures.length > 0) {
    process.stderr.write(`failed: ${failures.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
