/**
 * Gateway overhead: an authenticated `GET /api/chats` through the gateway versus straight to chat-api (with a
 * valid forwarded identity, as the gateway would send), measured in the same run against the same processes.
 *
 *   npm run bench -w @cohort/gateway     (BENCH_SECONDS=6 BENCH_ROUNDS=2 BENCH_CONNECTIONS=32 to tune; ~45 s)
 *
 * Every service runs as its own process, as in production: the store, auth, chat-api and the gateway. The load
 * generator (autocannon) runs here. On a 2-core machine the gateway competes for CPU with everything else, so
 * the ratio is a floor, not what a dedicated gateway host would show.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon, { type Result } from 'autocannon';
import {
  createIdentitySigner,
  IDENTITY_HEADER,
  importSigningKey,
  readCookie,
  type AccessClaims,
} from '@cohort/common';
import { freePort, generateTestKeys, REPO_ROOT, waitFor } from '@cohort/testkit';
import { decodeJwt } from 'jose';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_SECONDS = 2;
const CHATS = 10;

interface Store {
  url: string;
  stop(): Promise<void>;
}

function startStore(): Promise<Store> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(__dirname, 'store-process.ts')],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`store exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      child.removeAllListeners('exit');
      resolve({
        url: (JSON.parse(line) as { url: string }).url,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

interface Service {
  url: string;
  stop(): Promise<void>;
}

/**
 * A service as a process, like testkit's spawnService but with its logs discarded: at LOG_LEVEL=info every
 * request is logged, and reading those lines here would tax the load generator unevenly (the gateway phase
 * logs twice as much). Ready once `/healthz` answers.
 */
async function startService(service: string, env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'services', service, 'src', 'main.ts')],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        ...env,
        PORT: String(port),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode}`);
        const res = await fetch(`${url}/healthz`);
        if (!res.ok) throw new Error(`healthz ${res.status}`);
      },
      30_000,
      100,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { url, stop };
}

function run(title: string, url: string, headers: Record<string, string>, duration: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon({ title, url, headers, connections: CONNECTIONS, duration, pipelining: 1 }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });
}

/** Rounds of one side: throughput over all rounds, latency percentiles averaged over rounds. */
function combine(results: Result[]) {
  const mean = (pick: (r: Result) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  const total = results.reduce((sum, r) => sum + r.requests.total, 0);
  const seconds = results.reduce((sum, r) => sum + r.duration, 0);
  return {
    'req/s': Math.round(total / seconds),
    'p50 ms': Number(mean((r) => r.latency.p50).toFixed(1)),
    'p99 ms': Number(mean((r) => r.latency.p99).toFixed(1)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
  };
}

const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;

async function main(): Promise<void> {
  const keys = await generateTestKeys();
  const store = await startStore();
  const processes: Service[] = [];
  try {
    const internalJwks = JSON.stringify(keys.internalJwks);
    const auth = await startService('auth', {
      MONGO_URL: `${store.url}_auth`,
      JWT_PRIVATE_KEY: keys.access.privateKeyPem,
      INTERNAL_JWKS: internalJwks,
      BCRYPT_COST: '4',
      LOGIN_IP_LIMIT: '100000',
    });
    processes.push(auth);
    const chatApi = await startService('chat-api', {
      MONGO_URL: `${store.url}_chat`,
      INTERNAL_JWKS: internalJwks,
      AUTH_URL: auth.url,
    });
    processes.push(chatApi);
    const gateway = await startService('gateway', {
      AUTH_URL: auth.url,
      CHAT_API_URL: chatApi.url,
      INTERNAL_SIGNING_KEY: keys.gatewayIdentity.privateKeyPem,
    });
    processes.push(gateway);

    // One user with a few chats, each with a message: a realistic `GET /api/chats` (lastMessage, unread).
    const reg = await fetch(`${gateway.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `bench.${Date.now()}@example.test`,
        password: 'correct horse battery',
        fullName: { firstName: 'Bench', lastName: 'User' },
      }),
    });
    if (reg.status !== 201) throw new Error(`register → ${reg.status} ${await reg.text()}`);
    const token = readCookie(
      reg.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; '),
      'token',
    );
    if (!token) throw new Error('no token cookie');
    const bearer = { authorization: `Bearer ${token}` };
    for (let i = 0; i < CHATS; i++) {
      const chat = await fetch(`${gateway.url}/api/chats`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'group', title: `bench ${i}` }),
      });
      const { chat: created } = (await chat.json()) as { chat: { id: string } };
      await fetch(`${gateway.url}/api/chats/${created.id}/messages`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify({ text: `hello ${i}`, clientMsgId: `bench-${i}` }),
      });
    }

    // Direct calls carry what the gateway would forward: a fresh assertion signed with the gateway's key.
    const payload = decodeJwt(token);
    const claims: AccessClaims = {
      userId: String(payload.sub),
      sessionId: String(payload.sid),
      tokenId: String(payload.jti),
      issuedAt: Number(payload.iat),
      expiresAt: Number(payload.exp),
    };
    const signingKey = await importSigningKey(keys.gatewayIdentity.privateKeyPem, 'EdDSA');
    // A new signer per phase: assertions live 60 s and a signer reuses one for 30 s.
    const direct = async () => ({
      [IDENTITY_HEADER]: await createIdentitySigner(signingKey, 'gateway').sign(claims),
    });

    const check = async (url: string, headers: Record<string, string>) => {
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new Error(`${url} → ${res.status} ${await res.text()}`);
    };
    await check(`${chatApi.url}/api/chats`, await direct());
    await check(`${gateway.url}/api/chats`, bearer);

    process.stdout.write(
      `warming up (${WARMUP_SECONDS} s each), then ${ROUNDS} rounds of ${SECONDS} s per side with ${CONNECTIONS} connections…\n`,
    );
    await run('warmup direct', `${chatApi.url}/api/chats`, await direct(), WARMUP_SECONDS);
    await run('warmup gateway', `${gateway.url}/api/chats`, bearer, WARMUP_SECONDS);
    // Alternate the order (D G, G D, …) so drift in machine load hits both sides alike.
    const directRuns: Result[] = [];
    const gatewayRuns: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const runDirect = async () =>
        directRuns.push(await run('direct', `${chatApi.url}/api/chats`, await direct(), SECONDS));
      const runGateway = async () =>
        gatewayRuns.push(await run('gateway', `${gateway.url}/api/chats`, bearer, SECONDS));
      if (round % 2 === 0) {
        await runDirect();
        await runGateway();
      } else {
        await runGateway();
        await runDirect();
      }
    }

    const directSummary = combine(directRuns);
    const gatewaySummary = combine(gatewayRuns);
    console.table({ 'chat-api direct': directSummary, 'through gateway': gatewaySummary });
    const ratio = gatewaySummary['req/s'] / directSummary['req/s'];
    process.stdout.write(
      `gateway keeps ${(ratio * 100).toFixed(1)}% of direct throughput (target ≥ 50%); ` +
        `p50 ${signed(gatewaySummary['p50 ms'] - directSummary['p50 ms'])} ms, p99 ${signed(gatewaySummary['p99 ms'] - directSummary['p99 ms'])} ms\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: 'gateway', connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, direct: directSummary, gateway: gatewaySummary, ratio: Number(ratio.toFixed(3)) })}\n`,
    );
    if (directSummary.non2xx + gatewaySummary.non2xx + directSummary.errors + gatewaySummary.errors > 0) {
      process.exitCode = 1;
      process.stderr.write('some requests failed: the figures above are not trustworthy\n');
    }
  } finally {
    await Promise.allSettled([...processes].reverse().map((p) => p.stop()));
    await store.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
