/**
 * `npm run bench:search`: message search ($text) on the embedded store at a million messages.
 *
 *   node --conditions=source --import tsx bench/search/run.ts
 *
 * Starts an in-memory embedded store, declares the product's indexes on `messages` ({chatId, seq}
 * unique and the text index), inserts SEARCH_DOCS messages (default 1,000,000) through the mongodb
 * driver in insertMany batches, then runs SEARCH_QUERIES (200) searches of 1–3 words with the
 * product's query shape — `{$text: {$search: q}, chatId: {$in: <the user's 50 chats>}, deletedAt:
 * null}` sorted by textScore, limit 20 — and prints insert throughput, p50/p99 latency and RSS.
 *
 * The corpus: a vocabulary of SEARCH_VOCAB (20,000) generated English-like words drawn with a Zipf
 * distribution (s = 1), English stop words mixed in as in real text, messages of 3–25 words spread over
 * SEARCH_CHATS (2,000) chats, 2% soft-deleted. Query words follow the same Zipf distribution (people
 * search words that occur), so some queries name very common words. Everything is seeded: runs compare.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { MongoClient, ObjectId } from 'mongodb';
import { startEmbeddedMongo } from '@cohort/mongo-embedded';

const DOCS = Number(process.env.SEARCH_DOCS ?? 1_000_000);
const CHATS = Number(process.env.SEARCH_CHATS ?? 2000);
const MY_CHATS = Number(process.env.SEARCH_MY_CHATS ?? 50);
const QUERIES = Number(process.env.SEARCH_QUERIES ?? 200);
const VOCAB = Number(process.env.SEARCH_VOCAB ?? 20_000);
const BATCH = 10_000;

/** mulberry32: a small seeded generator, so every run inserts and queries the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(17);
const ONSETS = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'h',
  'j',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'w',
  'br',
  'cl',
  'dr',
  'gr',
  'pl',
  'st',
  'tr',
  'sh',
  'ch',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou', 'y'];
const CODAS = ['', '', 'n', 'r', 's', 't', 'l', 'm', 'ng', 'ck', 'st'];
const SUFFIXES = ['', '', '', 's', 'ed', 'ing', 'er', 'ly', 'ment', 'ion'];
const STOP = [
  'the',
  'a',
  'to',
  'and',
  'of',
  'in',
  'is',
  'it',
  'you',
  'that',
  'we',
  'for',
  'on',
  'be',
  'this',
  'i',
];

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T;
}

function makeWord(): string {
  const syllables = 1 + Math.floor(random() * 3);
  let w = '';
  for (let i = 0; i < syllables; i++) w += pick(ONSETS) + pick(VOWELS) + pick(CODAS);
  return w + pick(SUFFIXES);
}

const vocabulary = [...new Set(Array.from({ length: VOCAB * 2 }, makeWord))].slice(0, VOCAB);

/** Cumulative Zipf weights (s = 1) over the vocabulary's ranks. */
const cumulative = (() => {
  const out = new Float64Array(vocabulary.length);
  let sum = 0;
  for (let r = 0; r < vocabulary.length; r++) out[r] = sum += 1 / (r + 1);
  for (let r = 0; r < out.length; r++) out[r] = (out[r] as number) / sum;
  return out;
})();

function zipfWord(): string {
  const x = random();
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return vocabulary[lo] as string;
}

function sentence(): string {
  const length = 3 + Math.floor(random() * 23);
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(random() < 0.35 ? pick(STOP) : zipfWord());
  const first = words[0] as string;
  words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  return `${words.join(' ')}${pick(['.', '!', '?', ''])}`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const mib = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MiB`;

async function main(): Promise<void> {
  const store = await startEmbeddedMongo();
  const client = await new MongoClient(`${store.uri}/bench`, { serverSelectionTimeoutMS: 5000 }).connect();
  try {
    const messages = client.db('bench').collection('messages');
    await messages.createIndex({ chatId: 1, seq: 1 }, { unique: true });
    await messages.createIndex({ text: 'text' }, { name: 'message_text', default_language: 'english' });
    const chatIds = Array.from({ length: CHATS }, () => new ObjectId());
    const seqs = new Array<number>(CHATS).fill(0);
    const rssBefore = process.memoryUsage().rss;
    const loadStart = performance.now();
    const loadCpuStart = process.cpuUsage();
    for (let done = 0; done < DOCS; done += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, DOCS - done) }, () => {
        const c = Math.floor(random() * CHATS);
        seqs[c] = (seqs[c] as number) + 1;
        return {
          chatId: chatIds[c],
          seq: seqs[c],
          senderId: chatIds[(c * 7) % CHATS],
          text: sentence(),
          createdAt: new Date(1_700_000_000_000 + done),
          deletedAt: random() < 0.02 ? new Date() : null,
        };
      });
      await messages.insertMany(batch, { ordered: false });
      if ((done / BATCH) % 20 === 19) process.stdout.write(`  inserted ${done + BATCH}\n`);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const loadCpu = process.cpuUsage(loadCpuStart);
    const rssLoaded = process.memoryUsage().rss;
    const myChats = chatIds.slice(0, MY_CHATS);
    const queries = Array.from({ length: QUERIES }, () =>
      Array.from({ length: 1 + Math.floor(random() * 3) }, zipfWord).join(' '),
    );
    const run = (q: string) =>
      messages
        .find(
          { $text: { $search: q }, chatId: { $in: myChats }, deletedAt: null },
          { projection: { text: 1, chatId: 1, seq: 1, score: { $meta: 'textScore' } } },
        )
        .sort({ score: { $meta: 'textScore' } })
        .limit(20)
        .toArray();
    for (const q of queries.slice(0, 10)) await run(q); // warm-up
    // Wall time, and the process's CPU time (store and client share it): on a machine shared with
    // other work the CPU time is the figure that stays comparable between runs.
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let results = 0;
    for (const q of queries) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      results += (await run(q)).length;
      const c = process.cpuUsage(c0);
      times.push(performance.now() - t0);
      cpuTimes.push((c.user + c.system) / 1000);
    }
    times.sort((a, b) => a - b);
    cpuTimes.sort((a, b) => a - b);
    const rssEnd = process.memoryUsage().rss;
    const lines = [
      `search bench, ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${mib(totalmem())} RAM, node ${process.version}`,
      `corpus: ${DOCS.toLocaleString('en')} messages, ${CHATS} chats, vocabulary ${vocabulary.length.toLocaleString('en')} (Zipf s=1), user in ${MY_CHATS} chats`,
      `insert (driver insertMany ×${BATCH}, {chatId,seq} unique + text index): ${loadSeconds.toFixed(1)} s, ${Math.round(DOCS / loadSeconds).toLocaleString('en')} docs/s (${((loadCpu.user + loadCpu.system) / 1e6).toFixed(1)} s of CPU)`,
      `search (${QUERIES} queries of 1-3 words, $in ${MY_CHATS} chats, deletedAt null, sort textScore, limit 20):`,
      `  p50 ${percentile(times, 50).toFixed(1)} ms  p90 ${percentile(times, 90).toFixed(1)} ms  p99 ${percentile(times, 99).toFixed(1)} ms  max ${(times[times.length - 1] as number).toFixed(1)} ms  (mean ${(results / QUERIES).toFixed(1)} results)`,
      `load average (1 min) ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores (other processes share the machine)`,
      `  cpu time per query: p50 ${percentile(cpuTimes, 50).toFixed(1)} ms  p90 ${percentile(cpuTimes, 90).toFixed(1)} ms  p99 ${percentile(cpuTimes, 99).toFixed(1)} ms`,
      `rss: ${mib(rssBefore)} before load, ${mib(rssLoaded)} loaded, ${mib(rssEnd)} after queries; heap used ${mib(process.memoryUsage().heapUsed)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await client.close();
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `search bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
