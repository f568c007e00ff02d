/**
 * Login throughput with bcrypt in the worker pool versus on the main thread, and how long GET /healthz
 * takes meanwhile. Each variant runs as a real process (main.ts from source) on the embedded store; this
 * process only drives HTTP load. Measurement windows alternate between the variants so that other work on
 * a shared machine skews both alike.
 * Knobs: BENCH_COST (12), BENCH_SECONDS (10 per variant), BENCH_ROUNDS (2), BENCH_CONCURRENCY (8).
 *
 *   npm run bench -w @cohort/auth
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  generateTestKeys,
  spawnService,
  startTestMongo,
  type ServiceProcess,
  type TestKeys,
} from '@cohort/testkit';

const COST = Number(process.env.BENCH_COST ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PASSWORD = 'Tr0ub4dor&3-kilo';

interface Variant {
  name: string;
  /** PASSWORD_HASH_THREADS; undefined = the default (one per CPU). */
  threads: string | undefined;
  service?: ServiceProcess;
  emails: string[];
  seconds: number;
  logins: number[];
  healthz: number[];
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

async function start(variant: Variant, mongoUrl: string, keys: TestKeys): Promise<ServiceProcess> {
  const service = await spawnService({
    service: 'auth',
    label: `auth-${variant.name}`,
    env: {
      MONGO_URL: mongoUrl,
      JWT_PRIVATE_KEY: keys.access.privateKeyPem.replace(/\n/g, '\\n'),
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      BCRYPT_COST: String(COST),
      LOGIN_IP_LIMIT: '1000000',
      ...(variant.threads === undefined ? {} : { PASSWORD_HASH_THREADS: variant.threads }),
    },
  });
  variant.service = service;
  // One account per login loop: the limiter keeps at most 5 attempts per account and IP in flight.
  for (const email of variant.emails) {
    const status = await post(`${service.url}/api/auth/register`, {
      email,
      password: PASSWORD,
      fullName: { firstName: 'Bench', lastName: variant.name },
    });
    if (status !== 201) throw new Error(`register answered ${status}`);
  }
  return service;
}

/** Saturates one variant with logins for `seconds` while probing /healthz every 20 ms. */
async function measure(variant: Variant, seconds: number): Promise<void> {
  const url = variant.service!.url;
  const deadline = performance.now() + seconds * 1000;
  const loops = variant.emails.map(async (email) => {
    while (performance.now() < deadline) {
      const begin = performance.now();
      const status = await post(`${url}/api/auth/login`, { email, password: PASSWORD });
      if (status !== 200) throw new Error(`login answered ${status}`);
      variant.logins.push(performance.now() - begin);
    }
  });
  const prober = (async () => {
    while (performance.now() < deadline) {
      const begin = performance.now();
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      variant.healthz.push(performance.now() - begin);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const began = performance.now();
  await Promise.all([...loops, prober]);
  variant.seconds += (performance.now() - began) / 1000;
}

async function main(): Promise<void> {
  const [mongo, keys] = await Promise.all([startTestMongo('auth_bench'), generateTestKeys()]);
  const variants: Variant[] = [
    { name: 'worker-pool', threads: undefined, emails: [], seconds: 0, logins: [], healthz: [] },
    { name: 'main-thread', threads: '0', emails: [], seconds: 0, logins: [], healthz: [] },
  ];
  for (const v of variants)
    v.emails = Array.from({ length: CONCURRENCY }, (_, i) => `bench-${v.name}-${i}@example.com`);
  try {
    const loadBefore = loadavg()[0]!;
    for (const v of variants) await start(v, mongo.url, keys);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const v of variants) await measure(v, SECONDS / ROUNDS);
    }
    const round1 = (n: number) => Math.round(n * 10) / 10;
    console.log(
      `login benchmark: bcrypt cost ${COST}, ${CONCURRENCY} concurrent logins, ${SECONDS} s per variant in ` +
        `${ROUNDS} alternating windows, ${availableParallelism()} CPUs, 1-min load average ` +
        `${loadBefore.toFixed(1)} before / ${loadavg()[0]!.toFixed(1)} after (other work skews the figures)`,
    );
    const rows = variants.map((v) => {
      const logins = [...v.logins].sort((a, b) => a - b);
      const healthz = [...v.healthz].sort((a, b) => a - b);
      return {
        variant: v.name,
        'logins/s': round1(logins.length / v.seconds),
        logins: logins.length,
        'login p50 ms': round1(percentile(logins, 50)),
        'healthz p50 ms': round1(percentile(healthz, 50)),
        'healthz p99 ms': round1(percentile(healthz, 99)),
        'healthz max ms': round1(healthz.at(-1) ?? Number.NaN),
        'healthz samples': healthz.length,
      };
    });
    console.table(rows);
    console.log(
      JSON.stringify({ cost: COST, concurrency: CONCURRENCY, seconds: SECONDS, rounds: ROUNDS, rows }),
    );
  } finally {
    for (const v of variants) await v.service?.stop();
    await mongo.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
