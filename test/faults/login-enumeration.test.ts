import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  REPO_ROOT,
  generateTestKeys,
  registerUser,
  spawnNodeProcess,
  spawnService,
  withDatabase,
  type ServiceProcess,
  type TestUser,
} from '@cohort/testkit';
import { report } from './support/report';
import { bySize } from './support/size';
import { median, ms, percentile } from './support/stats';

/**
 * Case 7: login must not tell an unknown email from a wrong password, by its answer or by its timing.
 * auth runs alone (testkit spawnService, no gateway or nginx in front, so only auth's own timing is measured)
 * against the embedded store in its own process, with BCRYPT_COST 8 (production's 12 would make a few hundred
 * tries take minutes; the comparison does not depend on the cost as long as both paths pay it).
 */
const TRIES = bySize(200, 1000);
const BCRYPT_COST = 8;
/** Failed logins allowed per account and IP (docs/security.md) before 429: stay under it. */
const WRONG_PER_ACCOUNT = 4;

let mongo: ServiceProcess;
let auth: ServiceProcess;
let accounts: TestUser[] = [];

beforeAll(async () => {
  const keys = await generateTestKeys();
  mongo = await spawnNodeProcess({
    entry: join(REPO_ROOT, 'libs', 'testkit', 'src', 'cluster', 'embedded-mongo.ts'),
    label: 'mongo',
    env: {},
  });
  auth = await spawnService({
    service: 'auth',
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      MONGO_URL: withDatabase(`mongodb://127.0.0.1:${mongo.port}`, 'enumeration'),
      JWT_PRIVATE_KEY: keys.access.privateKeyPem,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      BCRYPT_COST: String(BCRYPT_COST),
      LOGIN_IP_LIMIT: '1000000',
    },
  });
  const needed = Math.ceil(TRIES / WRONG_PER_ACCOUNT);
  for (let i = 0; i < needed; i += 10) {
    accounts.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, needed - i) }, (_, k) => registerUser(auth.url, `acct${i + k}`)),
      )),
    );
  }
}, 120_000);

afterAll(async () => {
  await auth?.stop();
  await mongo?.stop();
  accounts = [];
});

interface Try {
  kind: 'unknown' | 'wrong';
  email: string;
}

interface Answer {
  status: number;
  body: string;
  headers: string;
  ms: number;
}

/** Headers that legitimately differ between any two responses. */
const VARYING = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);

async function login(email: string): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${auth.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // The same password length on both paths: bcrypt's cost does not depend on it, but nothing else should either.
    body: JSON.stringify({ email, password: 'wrong-password-0000000000' }),
  });
  const body = await res.text();
  const elapsed = performance.now() - started;
  const headers = [...res.headers.entries()]
    .filter(([k]) => !VARYING.has(k))
    .map(([k, v]) => `${k}: ${v}`)
    .sort()
    .join('\n');
  return { status: res.status, body, headers, ms: elapsed };
}

test('unknown emails and wrong passwords get identical answers in indistinguishable time', async () => {
  // Interleaved (unknown, wrong, unknown, …) so that drift in the machine's load hits both sides alike.
  const tries: Try[] = [];
  for (let i = 0; i < TRIES; i += 1) {
    const account = accounts[Math.floor(i / WRONG_PER_ACCOUNT)]!;
    const unknown = `acct${i}.${randomUUID()}@example.com`;
    tries.push(
      ...(i % 2 === 0
        ? [
            { kind: 'unknown' as const, email: unknown },
            { kind: 'wrong' as const, email: account.user.email },
          ]
        : [
            { kind: 'wrong' as const, email: account.user.email },
            { kind: 'unknown' as const, email: unknown },
          ]),
    );
  }
  // Warm both paths (JIT, connection pool, worker threads) before measuring.
  for (let i = 0; i < 5; i += 1) await login(`warmup.${randomUUID()}@example.com`);

  const answers: Record<Try['kind'], Answer[]> = { unknown: [], wrong: [] };
  for (const t of tries) answers[t.kind].push(await login(t.email));

  const times = (kind: Try['kind']) => answers[kind].map((a) => a.ms);
  const distinct = (pick: (a: Answer) => string) => new Set([...answers.unknown, ...answers.wrong].map(pick));
  const statuses = distinct((a) => String(a.status));
  const bodies = distinct((a) => a.body);
  const headerSets = distinct((a) => a.headers);
  const medianUnknown = median(times('unknown'));
  const medianWrong = median(times('wrong'));
  report('login-enumeration', {
    setup: 'auth alone (testkit spawnService) + embedded store process, requests straight to auth',
    bcryptCost: BCRYPT_COST,
    triesPerKind: TRIES,
    statuses: [...statuses],
    distinctBodies: bodies.size,
    distinctHeaderSets: headerSets.size,
    body: [...bodies][0],
    medianUnknownMs: ms(medianUnknown),
    medianWrongMs: ms(medianWrong),
    medianDiffMs: ms(Math.abs(medianUnknown - medianWrong)),
    p90UnknownMs: ms(percentile(times('unknown'), 90)),
    p90WrongMs: ms(percentile(times('wrong'), 90)),
  });
  expect([...statuses]).toEqual(['401']);
  expect(bodies.size).toBe(1);
  expect(headerSets.size).toBe(1);
  expect(Math.abs(medianUnknown - medianWrong)).toBeLessThan(5);
}, 180_000);
