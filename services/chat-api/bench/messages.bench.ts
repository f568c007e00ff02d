/**
 * chat-api write/read benchmark, through HTTP against the embedded store (or MONGO_URL when set):
 *   1. messages written per second into ONE chat (every send contends for the same seq lane),
 *   2. messages written per second spread over 100 chats,
 *   3. p50/p99 latency of a message page (GET …/messages?before=X&limit=50) on a filled chat.
 * chat-api runs as its own process (as in production); the store and the load generator share this one.
 * Run: npm run bench -w @cohort/chat-api   (≈ 40 s; BENCH_SECONDS, BENCH_CONCURRENCY to tune)
 */
import { Pool } from 'undici';
import { IDENTITY_HEADER } from '@cohort/common';
import { generateTestKeys, spawnService, startTestMongo } from '@cohort/testkit';
import { gatewaySigner, newId, signFor } from '../test/support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

interface Timed {
  count: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `op` from CONCURRENCY workers for SECONDS, recording each call's latency. */
async function drive(op: (worker: number, i: number) => Promise<boolean>, seconds = SECONDS): Promise<Timed> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const latenciesMs: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t0 = performance.now();
        const ok = await op(worker, i);
        latenciesMs.push(performance.now() - t0);
        if (!ok) errors += 1;
      }
    }),
  );
  return {
    count: latenciesMs.length - errors,
    errors,
    seconds: (performance.now() - started) / 1000,
    latenciesMs: latenciesMs.sort((a, b) => a - b),
  };
}

function report(name: string, r: Timed, unit = 'req/s'): void {
  const rate = (r.count / r.seconds).toFixed(0);
  const p50 = percentile(r.latenciesMs, 50).toFixed(1);
  const p99 = percentile(r.latenciesMs, 99).toFixed(1);
  console.log(
    `${name.padEnd(34)} ${rate.padStart(6)} ${unit}   p50 ${p50} ms   p99 ${p99} ms   (${r.count} ok, ${r.errors} failed, ${r.seconds.toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const keys = await generateTestKeys();
  const mongo = await startTestMongo('chatapi_bench');
  const api = await spawnService({
    service: 'chat-api',
    env: {
      MONGO_URL: mongo.url,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      AUTH_URL: 'http://127.0.0.1:9',
      SEND_RATE_LIMIT: '1000000/10s',
      CHAT_CREATE_RATE_LIMIT: '1000000/10s',
      LOG_LEVEL: 'info', // the harness waits for the info-level `listening` line
    },
  });
  const pool = new Pool(api.url, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const signer = await gatewaySigner(keys);
  const userId = newId();
  const identity = await signFor(signer, userId);
  const headers = { [IDENTITY_HEADER]: identity, 'content-type': 'application/json' };

  const call = async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> => {
    const res = await pool.request({
      method,
      path,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: await res.body.json() };
  };
  const createGroup = async (title: string) => {
    const res = await call('POST', '/api/chats', { type: 'group', title });
    if (res.status !== 201) throw new Error(`create chat: ${res.status} ${JSON.stringify(res.json)}`);
    return (res.json as { chat: { id: string } }).chat.id;
  };
  const send = async (chatId: string, tag: string) => {
    const res = await call('POST', `/api/chats/${chatId}/messages`, {
      text: `benchmark message ${tag}`,
      clientMsgId: tag,
    });
    return res.status === 201;
  };

  try {
    console.log(
      `chat-api benchmark: ${CONCURRENCY} concurrent HTTP clients, ${SECONDS} s per phase, store ${process.env.MONGO_URL ? 'MONGO_URL' : 'embedded'}`,
    );
    const warm = await createGroup('warm-up');
    await drive((w, i) => send(warm, `warm-${w}-${i}`), 1);

    const single = await createGroup('single');
    const one = await drive((w, i) => send(single, `s-${w}-${i}`));
    report('write, one chat', one, 'msg/s');

    const chats = await Promise.all(Array.from({ length: 100 }, (_, i) => createGroup(`spread-${i}`)));
    const spread = await drive((w, i) => send(chats[(w * 7919 + i) % chats.length]!, `p-${w}-${i}`));
    report('write, spread over 100 chats', spread, 'msg/s');

    const lastSeq = ((await call('GET', `/api/chats/${single}`)).json as { chat: { lastSeq: number } }).chat
      .lastSeq;
    const pages = await drive(async () => {
      const before = 51 + Math.floor(Math.random() * Math.max(1, lastSeq - 50));
      const res = await call('GET', `/api/chats/${single}/messages?before=${before}&limit=50`);
      return res.status === 200 && (res.json as { messages: unknown[] }).messages.length === 50;
    });
    report(`list page (50 of ${lastSeq})`, pages);

    const chatList = await drive(
      async () => (await call('GET', '/api/chats')).status === 200,
      Math.min(SECONDS, 4),
    );
    report('GET /api/chats (101 chats)', chatList);

    const verify = await call('GET', `/api/chats/${single}/messages?after=${lastSeq - 5}&limit=100`);
    const tail = (verify.json as { messages: { seq: number }[] }).messages.map((m) => m.seq);
    console.log(
      `check: ${one.count} sends answered 201 into the single chat; its lastSeq is ${lastSeq}; last seqs ${tail.join(',')}`,
    );
  } finally {
    await pool.close();
    await api.stop();
    await mongo.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
