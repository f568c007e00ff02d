/**
 * Login throughput with bcrypt in the worker pool versus on the main thread, and how long GET /healthz
 * takes meanwhile. The service runs as a real process (main.ts from source) on the embedded store; this
 * process only drives HTTP load. Knobs: BENCH_COST (12), BENCH_SECONDS (10 per mode), BENCH_CONCURRENCY (8).
 *
 *   npm run bench -w @cohort/auth
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { generateTestKeys, spawnService, startTestMongo, type TestKeys } from '@cohort/testkit';

const COST = Number(process.env.BENCH_COST ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PASSWORD = 'Tr0ub4dor&3-kilo';

interface ModeResult {
  mode: string;
  threads: string;
  logins: number;
  loginsPerSecond: number;
  loginP50Ms: number;
  healthzSamples: number;
  healthzP50Ms: number;
  healthzP99Ms: number;
  healthzMaxMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function post(url: string, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

async function runMode(
  mode: string,
  threads: string | undefined,
  mongoUrl: string,
  keys: TestKeys,
): Promise<ModeResult> {
  const service = await spawnService({
    service: 'auth',
    label: `auth-${mode}`,
    env: {
      MONGO_URL: mongoUrl,
      JWT_PRIVATE_KEY: keys.access.privateKeyPem.replace(/\n/g, '\\n'),
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      BCRYPT_COST: String(COST),
      LOGIN_IP_LIMIT: '1000000',
      LOG_LEVEL: 'info', // the launcher waits for the info-level `listening` line
      ...(threads === undefined ? {} : { PASSWORD_HASH_THREADS: threads }),
    },
  });
  try {
    // One account per login loop: the limiter keeps at most 5 attempts per account and IP in flight.
    const emails = Array.from({ length: CONCURRENCY }, (_, i) => `bench-${mode}-${i}@example.com`);
    await Promise.all(
      emails.map(async (email) => {
        const status = await post(`${service.url}/api/auth/register`, {
          email,
          password: PASSWORD,
          fullName: { firstName: 'Bench', lastName: mode },
        });
        if (status !== 201) throw new Error(`register answered ${status}`);
      }),
    );

    const deadline = performance.now() + SECONDS * 1000;
    const loginTimes: number[] = [];
    const healthz: number[] = [];
    const loops = emails.map(async (email) => {
      while (performance.now() < deadline) {
        const start = performance.now();
        const status = await post(`${service.url}/api/auth/login`, { email, password: PASSWORD });
        if (status !== 200) throw new Error(`login answered ${status}`);
        loginTimes.push(performance.now() - start);
      }
    });
    const prober = (async () => {
      while (performance.now() < deadline) {
        const start = performance.now();
        const res = await fetch(`${service.url}/healthz`);
        await res.arrayBuffer();
        healthz.push(performance.now() - start);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = performance.now();
    await Promise.all([...loops, prober]);
    const elapsed = (performance.now() - started) / 1000;

    loginTimes.sort((a, b) => a - b);
    healthz.sort((a, b) => a - b);
    return {
      mode,
      threads: threads ?? 'default',
      logins: loginTimes.length,
      loginsPerSecond: loginTimes.length / elapsed,
      loginP50Ms: percentile(loginTimes, 50),
      healthzSamples: healthz.length,
      healthzP50Ms: percentile(healthz, 50),
      healthzP99Ms: percentile(healthz, 99),
      healthzMaxMs: healthz.at(-1) ?? Number.NaN,
    };
  } finally {
    // Signalled directly: testkit's stop() waits on an exit listener it removed itself.
    const exited = new Promise<void>((resolve) => service.child.once('exit', () => resolve()));
    service.child.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const [mongo, keys] = await Promise.all([startTestMongo('auth_bench'), generateTestKeys()]);
  try {
    console.log(
      `login benchmark: bcrypt cost ${COST}, ${CONCURRENCY} concurrent login loops, ${SECONDS} s per mode, ` +
        `${availableParallelism()} CPUs, load average before ${loadavg()[0]!.toFixed(2)} (other work skews the figures)`,
    );
    const results = [
      await runMode('worker-pool', undefined, mongo.url, keys),
      await runMode('main-thread', '0', mongo.url, keys),
    ];
    const round = (n: number) => Math.round(n * 10) / 10;
    console.table(
      results.map((r) => ({
        mode: r.mode,
        'logins/s': round(r.loginsPerSecond),
        logins: r.logins,
        'login p50 ms': round(r.loginP50Ms),
        'healthz p50 ms': round(r.healthzP50Ms),
        'healthz p99 ms': round(r.healthzP99Ms),
        'healthz max ms': round(r.healthzMaxMs),
        'healthz samples': r.healthzSamples,
      })),
    );
    console.log(JSON.stringify({ cost: COST, concurrency: CONCURRENCY, seconds: SECONDS, results }));
  } finally {
    await mongo.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
