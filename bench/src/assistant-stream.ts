import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { directFirstChunkMs, startOpenAiFake } from '@cohort/testkit';
import { LightSocket } from './light-client';
import { CpuMeter } from './proc';
import { startFullStack, type Stack } from './stacks';
import { ratio, round, Samples, summarize, type LatencySummary } from './stats';

/** The assistant streaming part (issue 16): its load and the model's pace. */
export interface AssistantStreamConfig {
  /** Group chats, each answered at once (the concurrent answers). */
  chats: number;
  /** Sockets per chat (through nginx, spread over the realtime replicas), cycling through its users. */
  socketsPerChat: number;
  usersPerChat: number;
  /** Chunks the fake provider streams per answer, one every `tokenMs`. */
  tokens: number;
  tokenMs: number;
  /** AI_COALESCE_MS given to the assistant replicas. */
  coalesceMs: number;
  reps: number;
  replicas: number;
  assistantReplicas: number;
  /** Bound on one repetition (every socket has the stored answer). */
  timeoutSeconds: number;
}

export interface AssistantStreamRep {
  answers: number;
  sockets: number;
  /** First question sent → every socket has its chat's stored answer. */
  seconds: number;
  /** Per token at each socket: arrival − the provider's emission of that token (both on this process's clock). */
  tokenDelayMs: LatencySummary;
  /**
   * Its part by design, per token: the wait in the assistant's coalescing buffer, estimated as the first token of
   * its delta + AI_COALESCE_MS − the token (the buffer's timer starts when its first token arrives).
   */
  coalesceWaitMs: LatencySummary;
  /** The rest: arrival − (first token of its delta + AI_COALESCE_MS): store append, bus, relay, nginx, this client. */
  afterCoalesceMs: LatencySummary;
  /** Per delta: its first arrival at any socket − (first token + AI_COALESCE_MS). */
  toFirstSocketMs: LatencySummary;
  /** Per delivery: arrival − the first arrival of the same delta at any socket (the fan-out's own spread). */
  fanoutSpreadMs: LatencySummary;
  /** Per answer: the question's ack → its first `ai:delta` at any socket of the chat. */
  firstTokenMs: LatencySummary;
  /** Per answer: the question's ack → the provider emitting its first chunk (trigger, context, prompt, request). */
  beforeProviderMs: LatencySummary;
  /** Between consecutive chunks as the fake emitted them (the token rate the provider actually held). */
  providerIntervalMs: LatencySummary;
  /** SDK call → first content chunk, straight to the fake, just before the repetition (5 calls, one at a time). */
  providerFirstTokenMs: LatencySummary;
  /** First token through the stack (median) ÷ first token from the provider directly (median). */
  firstTokenRatio: number;
  /** Distinct deltas published (over every stream) and `ai:delta` frames received (over every socket). */
  deltaEvents: number;
  deliveries: number;
  expectedDeliveries: number;
  /** Deltas a socket never received (indexes below its stream's last), repeats of an index at one socket. */
  lost: number;
  duplicates: number;
  /** Sockets whose deltas, joined in index order, differ from the stored answer they received. */
  mismatched: number;
  /** Sockets without their chat's stored answer when the repetition ended; answers not `done`. */
  answersMissing: number;
  answersNotDone: number;
  /** Provider chunks missing from (or extra in) the stored answers. */
  tokensMissing: number;
  serverCpuSeconds: number;
  /** Server CPU per delivered delta (one `ai:delta` frame at one socket), µs. */
  cpuUsPerDelivery: number;
  cpuByProcess: Record<string, number>;
  /** This process: the sockets and the fake provider. */
  clientCpuSeconds: number;
  loopDelayP99Ms: number;
}

export interface AssistantStreamResult {
  config: AssistantStreamConfig;
  description: string;
  setupSeconds: number;
  connectSeconds: number;
  reps: AssistantStreamRep[];
  durationSeconds: number;
}

/** Wall-clock milliseconds with sub-millisecond resolution: the stamps and the arrivals use this one clock. */
const clock = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The text of a stamped chunk: when it left the provider. */
export const stampChunk = (at: number): string => `[t:${at.toFixed(3)}] `;

/** The emission times stamped in a text, in order. */
export function parseStamps(text: string): number[] {
  const out: number[] = [];
  for (const match of text.matchAll(/\[t:(\d+(?:\.\d+)?)\]/g)) out.push(Number(match[1]));
  return out;
}

interface DeltaPayload {
  chatId: string;
  streamId: string;
  replyTo: string;
  index: number;
  delta: string;
}

interface AnswerPayload {
  message: {
    id: string;
    text: string;
    replyTo?: string;
    ai?: { streamId: string; status: string };
  };
}

/** One answer's stream as the first socket to receive each delta saw it. */
interface StreamState {
  replyTo: string;
  deltas: string[];
  stamps: number[][];
  firstAt: number[];
}

interface Receiver {
  socket: LightSocket;
  chat: number;
  /** Per stream: how many times each index arrived here. */
  counts: Map<string, number[]>;
  /** Deltas whose text differs from what the first receiver of that index got. */
  differs: number;
  /** Stored answers received, by the question they answer. */
  answers: Map<string, { streamId: string; text: string; status: string }>;
}

/** What one repetition accumulates while it runs. */
class RepState {
  readonly streams = new Map<string, StreamState>();
  readonly firstDeltaAt = new Map<string, number>();
  readonly tokenDelay = new Samples();
  readonly coalesceWait = new Samples();
  readonly afterCoalesce = new Samples();
  readonly toFirstSocket = new Samples();
  readonly fanoutSpread = new Samples();
  deliveries = 0;
  duplicates = 0;
  answersSeen = 0;
  onAnswer: (() => void) | undefined;

  constructor(readonly coalesceMs: number) {}

  delta(r: Receiver, frame: string): void {
    const now = clock();
    const p = (JSON.parse(frame.slice(2)) as [string, DeltaPayload])[1];
    let counts = r.counts.get(p.streamId);
    if (!counts) r.counts.set(p.streamId, (counts = []));
    counts[p.index] = (counts[p.index] ?? 0) + 1;
    if (counts[p.index]! > 1) {
      this.duplicates += 1;
      return;
    }
    this.deliveries += 1;
    let stream = this.streams.get(p.streamId);
    if (!stream) {
      stream = { replyTo: p.replyTo, deltas: [], stamps: [], firstAt: [] };
      this.streams.set(p.streamId, stream);
      if (!this.firstDeltaAt.has(p.replyTo)) this.firstDeltaAt.set(p.replyTo, now);
    }
    let stamps = stream.stamps[p.index];
    if (stamps === undefined) {
      stamps = parseStamps(p.delta);
      stream.stamps[p.index] = stamps;
      stream.deltas[p.index] = p.delta;
      stream.firstAt[p.index] = now;
      if (stamps.length > 0) {
        const flushAt = stamps[0]! + this.coalesceMs;
        this.toFirstSocket.add(now - flushAt);
        // The same for every socket of the chat: once per token is the same distribution.
        for (const at of stamps) this.coalesceWait.add(Math.max(0, flushAt - at));
      }
    } else if (stream.deltas[p.index] !== p.delta) {
      r.differs += 1;
    }
    this.fanoutSpread.add(now - stream.firstAt[p.index]!);
    if (stamps.length === 0) return;
    const flushAt = stamps[0]! + this.coalesceMs;
    for (const at of stamps) {
      this.tokenDelay.add(now - at);
      this.afterCoalesce.add(now - flushAt);
    }
  }

  answer(r: Receiver, frame: string): void {
    const { message } = (JSON.parse(frame.slice(2)) as [string, AnswerPayload])[1];
    if (!message.ai || !message.replyTo || r.answers.has(message.replyTo)) return;
    r.answers.set(message.replyTo, {
      streamId: message.ai.streamId,
      text: message.text,
      status: message.ai.status,
    });
    this.answersSeen += 1;
    this.onAnswer?.();
  }
}

type SendAck =
  { ok: true; message: { id: string } } | { ok: false; error: { code: string; message: string } };

const FAKE_THREAD = 'assistant-stream-fake';

interface FakeThreadData {
  role: typeof FAKE_THREAD;
  tokens: number;
  tokenMs: number;
}

/**
 * The fake provider on a thread of its own in this process: its clock is the sockets' clock (the same
 * `timeOrigin + now()`, measured within 0.03 ms), and its timers keep the token rate while this thread is busy
 * with 2,000 sockets (on the main thread it slipped from 20 to 36–44 ms per chunk at p50 at the full load).
 */
async function startFakeThread(
  tokens: number,
  tokenMs: number,
): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const data: FakeThreadData = { role: FAKE_THREAD, tokens, tokenMs };
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
    eval: true,
    workerData: data,
  });
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      worker.once('message', (m: { baseUrl: string }) => resolve(m.baseUrl));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the fake provider's thread exited (${code})`)));
    });
    return { baseUrl, close: async () => void (await worker.terminate()) };
  } catch (err) {
    await worker.terminate();
    throw err;
  }
}

const threadData = workerData as Partial<FakeThreadData> | null;
if (!isMainThread && threadData?.role === FAKE_THREAD) {
  const { tokens = 0, tokenMs = 0 } = threadData;
  void startOpenAiFake({
    text: Array.from({ length: tokens }, (_, i) => `t${i} `).join(''),
    chunkDelayMs: tokenMs,
    chunkText: () => stampChunk(clock()),
  }).then((fake) => parentPort?.postMessage({ baseUrl: fake.baseUrl }));
}

/**
 * Issue 16: the whole stack (nginx → realtime replicas ← Redis ← assistant replicas → the fake provider) with
 * `chats` group chats of `socketsPerChat` sockets, the assistant a member of each. Per repetition one member of
 * every chat asks @cohortgpt at once; the fake, started in this process, streams `tokens` chunks one every
 * `tokenMs`, each chunk's text being the time it was written. Every socket reads those stamps from each `ai:delta`
 * it receives, so the per-token delay is measured on one clock; it counts what it received per index and checks
 * its joined deltas against the stored answer it received (`chat:new`).
 */
export async function assistantStream(
  config: AssistantStreamConfig,
  log: (line: string) => void,
): Promise<AssistantStreamResult> {
  const partStarted = performance.now();
  const fake = await startFakeThread(config.tokens, config.tokenMs);
  let stack: Stack | undefined;
  const receivers: Receiver[] = [];
  let rep: RepState | undefined;
  try {
    stack = await startFullStack({
      chats: config.chats,
      usersPerChat: config.usersPerChat,
      replicas: config.replicas,
      smallChats: 0,
      assistantReplicas: config.assistantReplicas,
      assistantInChats: true,
      env: {
        AI_BASE_URL: fake.baseUrl,
        AI_MODEL: 'fake-model',
        AI_API_KEY: 'bench',
        AI_COALESCE_MS: String(config.coalesceMs),
        AI_DAILY_TOKENS_PER_USER: '1000000000',
      },
    });
    const setupSeconds = (performance.now() - partStarted) / 1000;
    log(`assistant: stack up in ${setupSeconds.toFixed(1)} s (${stack.description})`);

    const connectStarted = performance.now();
    const wsUrl = stack.edgeUrl.replace(/^http/, 'ws');
    const events = new Set(['ai:delta', 'chat:new']);
    const plan = stack.chats.flatMap((chat, c) =>
      Array.from({ length: config.socketsPerChat }, (_, k) => ({
        chat: c,
        auth: chat.memberAuth[k % chat.memberAuth.length]!,
      })),
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(48, plan.length) }, async () => {
        while (next < plan.length) {
          const { chat, auth } = plan[next]!;
          next += 1;
          const r: Receiver = {
            chat,
            counts: new Map(),
            differs: 0,
            answers: new Map(),
            socket: undefined as unknown as LightSocket,
          };
          r.socket = new LightSocket({
            baseUrl: wsUrl,
            query: { cid: randomUUID() },
            auth,
            events,
            onRawEvent: (frame) => {
              if (!rep) return;
              if (frame.startsWith('42["ai:delta"')) rep.delta(r, frame);
              else rep.answer(r, frame);
            },
          });
          await r.socket.connect();
          receivers.push(r);
        }
      }),
    );
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    log(`assistant: ${receivers.length} sockets through nginx in ${connectSeconds.toFixed(1)} s`);
    const byChat = stack.chats.map((_, c) => receivers.filter((r) => r.chat === c));

    const serverStack = stack;
    const runRep = async (r: number): Promise<AssistantStreamRep> => {
      const direct = new Samples();
      for (const ms of await directFirstChunkMs(fake.baseUrl, 5)) direct.add(ms);
      const state = new RepState(config.coalesceMs);
      for (const x of receivers) {
        x.counts.clear();
        x.differs = 0;
      }
      const allAnswered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), config.timeoutSeconds * 1000);
        state.onAnswer = () => {
          if (state.answersSeen < receivers.length) return;
          clearTimeout(timer);
          resolve(true);
        };
      });
      rep = state;
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const cpu = new CpuMeter(serverStack.serverProcesses()).begin();
      const clientCpu = process.cpuUsage();
      const started = performance.now();
      // One member of each chat asks at once (a different member each repetition).
      const questions = await Promise.all(
        serverStack.chats.map(async (chat, c) => {
          const sockets = byChat[c]!;
          const sender = sockets[r % sockets.length]!;
          const ack = (await sender.socket.emitWithAck('chat:send', {
            chatId: chat.id,
            text: `@cohortgpt question ${r} in chat ${c}: tell me something`,
            clientMsgId: randomUUID(),
          })) as SendAck;
          if (!ack.ok) throw new Error(`chat:send refused: ${ack.error.code} ${ack.error.message}`);
          return { id: ack.message.id, ackedAt: clock() };
        }),
      );
      const complete = await allAnswered;
      const seconds = (performance.now() - started) / 1000;
      // Deltas and the stored answer travel on different bus channels: give a late delta a moment.
      await sleep(300);
      const used = cpu.end();
      const clientUsage = process.cpuUsage(clientCpu);
      loop.disable();
      rep = undefined;

      let lost = 0;
      let mismatched = 0;
      let answersMissing = 0;
      let answersNotDone = 0;
      let tokensMissing = 0;
      let deltaEvents = 0;
      let expectedDeliveries = 0;
      const firstToken = new Samples();
      const beforeProvider = new Samples();
      const intervals = new Samples();
      questions.forEach((q, c) => {
        const sockets = byChat[c]!;
        const firstAt = state.firstDeltaAt.get(q.id);
        if (firstAt !== undefined) firstToken.add(firstAt - q.ackedAt);
        const streamEntry = [...state.streams.entries()].find(([, s]) => s.replyTo === q.id);
        const stream = streamEntry?.[1];
        const stamps = stream ? stream.stamps.flatMap((s) => s ?? []) : [];
        if (stamps.length > 0) beforeProvider.add(stamps[0]! - q.ackedAt);
        for (let i = 1; i < stamps.length; i += 1) intervals.add(stamps[i]! - stamps[i - 1]!);
        const n = stream ? stream.deltas.length : 0;
        deltaEvents += n;
        expectedDeliveries += n * sockets.length;
        const joined = stream ? stream.deltas.join('') : '';
        let storedChecked = false;
        for (const x of sockets) {
          const answer = x.answers.get(q.id);
          if (!answer) {
            answersMissing += 1;
            continue;
          }
          if (!storedChecked) {
            storedChecked = true;
            if (answer.status !== 'done') answersNotDone += 1;
            tokensMissing += Math.abs(config.tokens - parseStamps(answer.text).length);
          }
          const counts = (streamEntry && x.counts.get(streamEntry[0])) || [];
          let missing = 0;
          for (let i = 0; i < n; i += 1) if (!counts[i]) missing += 1;
          lost += missing;
          if (missing > 0 || x.differs > 0 || joined !== answer.text || answer.streamId !== streamEntry?.[0])
            mismatched += 1;
        }
      });
      const deliveries = state.deliveries;
      const firstTokenMs = summarize(firstToken);
      return {
        answers: questions.length,
        sockets: receivers.length,
        seconds: round(seconds, 2),
        tokenDelayMs: summarize(state.tokenDelay),
        coalesceWaitMs: summarize(state.coalesceWait),
        afterCoalesceMs: summarize(state.afterCoalesce),
        toFirstSocketMs: summarize(state.toFirstSocket),
        fanoutSpreadMs: summarize(state.fanoutSpread),
        firstTokenMs,
        beforeProviderMs: summarize(beforeProvider),
        providerIntervalMs: summarize(intervals),
        providerFirstTokenMs: summarize(direct),
        firstTokenRatio: ratio(firstToken.percentile(50), direct.percentile(50), 1),
        deltaEvents,
        deliveries,
        expectedDeliveries,
        lost,
        duplicates: state.duplicates,
        mismatched,
        answersMissing: complete ? answersMissing : Math.max(1, answersMissing),
        answersNotDone,
        tokensMissing,
        serverCpuSeconds: round(used.total, 3),
        cpuUsPerDelivery: round((used.total * 1e6) / Math.max(1, deliveries), 1),
        cpuByProcess: Object.fromEntries(Object.entries(used.cpu).map(([k, v]) => [k, round(v, 3)])),
        clientCpuSeconds: round((clientUsage.user + clientUsage.system) / 1e6, 2),
        loopDelayP99Ms: round(loop.percentile(99) / 1e6, 1),
      };
    };

    // Warm-up: JIT, connection pools, the assistant's first provider calls; not reported.
    const warm = await runRep(config.reps);
    log(`assistant: warm-up ${describeRep(warm)}`);
    const reps: AssistantStreamRep[] = [];
    for (let r = 0; r < config.reps; r += 1) {
      const result = await runRep(r);
      log(`assistant rep ${r + 1}: ${describeRep(result)}`);
      reps.push(result);
    }
    return {
      config,
      description: `${stack.description}; the fake provider on a thread of the bench process`,
      setupSeconds: round(setupSeconds),
      connectSeconds: round(connectSeconds),
      reps,
      durationSeconds: round((performance.now() - partStarted) / 1000),
    };
  } finally {
    rep = undefined;
    for (const r of receivers) r.socket.terminate();
    await stack?.stop();
    await fake.close();
  }
}

/** One line per repetition for the bench's log. */
export function describeRep(r: AssistantStreamRep): string {
  return (
    `${r.answers} answers to ${r.sockets} sockets in ${r.seconds} s: token delay p50/p99 ${r.tokenDelayMs.p50}/${r.tokenDelayMs.p99} ms ` +
    `(coalescing p99 ${r.coalesceWaitMs.p99}, after it p50/p99 ${r.afterCoalesceMs.p50}/${r.afterCoalesceMs.p99}, fan-out spread p99 ` +
    `${r.fanoutSpreadMs.p99}); first token ${r.firstTokenMs.p50} ms (${r.firstTokenRatio}× direct ${r.providerFirstTokenMs.p50}); ${r.deltaEvents} deltas, ` +
    `${r.deliveries}/${r.expectedDeliveries} delivered, lost ${r.lost}, dup ${r.duplicates}, mismatched ${r.mismatched}, ` +
    `answers missing ${r.answersMissing}, not done ${r.answersNotDone}; server CPU ${r.cpuUsPerDelivery} µs/delivery; ` +
    `client ${r.clientCpuSeconds} s CPU, loop p99 ${r.loopDelayP99Ms} ms`
  );
}
