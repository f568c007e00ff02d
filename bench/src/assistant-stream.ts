import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { directFirstChunkMs, startOpenAiFake } from '@cohort/testkit';
import { LightSocket } from './light-client';
import { CpuMeter, cpuByProcess } from './proc';
import type { Rep } from './report';
import { startBareStack, startFullStack, type Stack, type StackPlan } from './stacks';
import { alternate, ratio, round, Samples, summarize, type LatencySummary } from './stats';

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
  /** Whether the bare baseline runs too (its processes answer @cohortgpt from the same fake). */
  bare: boolean;
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

/** One stack of the part as it ran. */
export interface AssistantStreamStack {
  description: string;
  /** Stack start (full: with the users' registrations and the chats' creation). */
  setupSeconds: number;
  connectSeconds: number;
}

export interface AssistantStreamResult {
  config: AssistantStreamConfig;
  /** Full, and bare unless `config.bare` is false. */
  stacks: Partial<Record<'full' | 'bare', AssistantStreamStack>>;
  /** Each repetition: what each stack measured (one after the other, in alternating order). */
  reps: Array<Rep<AssistantStreamRep>>;
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

type SideName = 'full' | 'bare';

/** One stack under test with its sockets. */
interface Side {
  name: SideName;
  stack: Stack;
  receivers: Receiver[];
  /** The receivers of each chat, in the stack's chat order. */
  byChat: Receiver[][];
  /** The repetition running on this side: frames arriving outside one are ignored. */
  rep: RepState | undefined;
  setupSeconds: number;
  connectSeconds: number;
}

/** What both stacks are given: the fake as the model, the part's coalescing (the bare processes read the same). */
function modelEnv(config: AssistantStreamConfig, baseUrl: string): Record<string, string> {
  return {
    AI_BASE_URL: baseUrl,
    AI_MODEL: 'fake-model',
    AI_API_KEY: 'bench',
    AI_COALESCE_MS: String(config.coalesceMs),
    AI_DAILY_TOKENS_PER_USER: '1000000000',
  };
}

/** Starts one stack (full: with assistant replicas, the assistant a member of each chat) for this part. */
function startStack(
  name: SideName,
  config: AssistantStreamConfig,
  env: Record<string, string>,
): Promise<Stack> {
  const plan: StackPlan = {
    chats: config.chats,
    usersPerChat: config.usersPerChat,
    replicas: config.replicas,
    smallChats: 0,
    env,
  };
  if (name === 'bare') return startBareStack(plan);
  return startFullStack({ ...plan, assistantReplicas: config.assistantReplicas, assistantInChats: true });
}

/** Hands a subscribed frame to the side's running repetition. */
function onFrame(side: Side, r: Receiver, frame: string): void {
  const rep = side.rep;
  if (!rep) return;
  if (frame.startsWith('42["ai:delta"')) rep.delta(r, frame);
  else rep.answer(r, frame);
}

/** Connects `socketsPerChat` sockets to every chat of the side's stack through nginx, 48 at a time. */
async function connectReceivers(side: Side, socketsPerChat: number): Promise<void> {
  const wsUrl = side.stack.edgeUrl.replace(/^http/, 'ws');
  const events = new Set(['ai:delta', 'chat:new']);
  const plan = side.stack.chats.flatMap((chat, c) =>
    Array.from({ length: socketsPerChat }, (_, k) => ({
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
          socket: new LightSocket({
            baseUrl: wsUrl,
            query: { cid: randomUUID() },
            auth,
            events,
            onRawEvent: (frame) => onFrame(side, r, frame),
          }),
        };
        await r.socket.connect();
        side.receivers.push(r);
      }
    }),
  );
  side.byChat = side.stack.chats.map((_, c) => side.receivers.filter((x) => x.chat === c));
}

/** Starts a side's stack and connects its sockets; `sides` gets it as soon as it is up (so it is stopped). */
async function startSide(
  name: SideName,
  config: AssistantStreamConfig,
  env: Record<string, string>,
  sides: Side[],
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  const stack = await startStack(name, config, env);
  const side: Side = {
    name,
    stack,
    receivers: [],
    byChat: [],
    rep: undefined,
    setupSeconds: round((performance.now() - started) / 1000),
    connectSeconds: 0,
  };
  sides.push(side);
  log(`assistant: ${name} stack up in ${side.setupSeconds} s (${stack.description})`);
  const connectStarted = performance.now();
  await connectReceivers(side, config.socketsPerChat);
  side.connectSeconds = round((performance.now() - connectStarted) / 1000);
  log(`assistant: ${name}: ${side.receivers.length} sockets through nginx in ${side.connectSeconds} s`);
}

async function stopSide(side: Side): Promise<void> {
  side.rep = undefined;
  for (const r of side.receivers) r.socket.terminate();
  await side.stack.stop();
}

interface Question {
  id: string;
  ackedAt: number;
}

/** One member of each chat asks @cohortgpt at once (member r of the chat's sockets: a different one each time). */
function askAll(side: Side, r: number): Promise<Question[]> {
  return Promise.all(
    side.stack.chats.map(async (chat, c) => {
      const sockets = side.byChat[c]!;
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
}

/** Resolves true once every receiver has its chat's stored answer, false after `seconds`. */
function allAnswered(state: RepState, receivers: number, seconds: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), seconds * 1000);
    state.onAnswer = () => {
      if (state.answersSeen < receivers) return;
      clearTimeout(timer);
      resolve(true);
    };
  });
}

/** What the answers' streams and the stored answers show once a repetition is over. */
interface Checked {
  lost: number;
  mismatched: number;
  answersMissing: number;
  answersNotDone: number;
  tokensMissing: number;
  deltaEvents: number;
  expectedDeliveries: number;
  firstToken: Samples;
  beforeProvider: Samples;
  intervals: Samples;
}

/** Checks every socket of question c's chat against the stream the first receivers saw and the stored answer. */
function checkChat(state: RepState, q: Question, sockets: Receiver[], tokens: number, out: Checked): void {
  const firstAt = state.firstDeltaAt.get(q.id);
  if (firstAt !== undefined) out.firstToken.add(firstAt - q.ackedAt);
  const streamEntry = [...state.streams.entries()].find(([, s]) => s.replyTo === q.id);
  const stream = streamEntry?.[1];
  const stamps = stream ? stream.stamps.flatMap((s) => s ?? []) : [];
  if (stamps.length > 0) out.beforeProvider.add(stamps[0]! - q.ackedAt);
  for (let i = 1; i < stamps.length; i += 1) out.intervals.add(stamps[i]! - stamps[i - 1]!);
  const n = stream ? stream.deltas.length : 0;
  out.deltaEvents += n;
  out.expectedDeliveries += n * sockets.length;
  const joined = stream ? stream.deltas.join('') : '';
  let storedChecked = false;
  for (const x of sockets) {
    const answer = x.answers.get(q.id);
    if (!answer) {
      out.answersMissing += 1;
      continue;
    }
    if (!storedChecked) {
      storedChecked = true;
      if (answer.status !== 'done') out.answersNotDone += 1;
      out.tokensMissing += Math.abs(tokens - parseStamps(answer.text).length);
    }
    const counts = (streamEntry && x.counts.get(streamEntry[0])) || [];
    let missing = 0;
    for (let i = 0; i < n; i += 1) if (!counts[i]) missing += 1;
    out.lost += missing;
    if (missing > 0 || x.differs > 0 || joined !== answer.text || answer.streamId !== streamEntry?.[0])
      out.mismatched += 1;
  }
}

function checkAnswers(state: RepState, questions: Question[], side: Side, tokens: number): Checked {
  const out: Checked = {
    lost: 0,
    mismatched: 0,
    answersMissing: 0,
    answersNotDone: 0,
    tokensMissing: 0,
    deltaEvents: 0,
    expectedDeliveries: 0,
    firstToken: new Samples(),
    beforeProvider: new Samples(),
    intervals: new Samples(),
  };
  questions.forEach((q, c) => checkChat(state, q, side.byChat[c]!, tokens, out));
  return out;
}

/**
 * One repetition on one side: the provider's first chunk measured directly, then every chat asks at once and the
 * repetition lasts until every socket has its stored answer (or the timeout), plus 300 ms for a late delta.
 */
async function runRep(
  side: Side,
  baseUrl: string,
  config: AssistantStreamConfig,
  r: number,
): Promise<AssistantStreamRep> {
  const direct = new Samples();
  for (const ms of await directFirstChunkMs(baseUrl, 5)) direct.add(ms);
  const state = new RepState(config.coalesceMs);
  for (const x of side.receivers) {
    x.counts.clear();
    x.differs = 0;
  }
  const answered = allAnswered(state, side.receivers.length, config.timeoutSeconds);
  side.rep = state;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = new CpuMeter(side.stack.serverProcesses()).begin();
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  const questions = await askAll(side, r);
  const complete = await answered;
  const seconds = (performance.now() - started) / 1000;
  // Deltas and the stored answer travel on different bus channels (full stack): give a late delta a moment.
  await sleep(300);
  const used = cpu.end();
  const clientUsage = process.cpuUsage(clientCpu);
  loop.disable();
  side.rep = undefined;

  const checked = checkAnswers(state, questions, side, config.tokens);
  const firstTokenMs = summarize(checked.firstToken);
  return {
    answers: questions.length,
    sockets: side.receivers.length,
    seconds: round(seconds, 2),
    tokenDelayMs: summarize(state.tokenDelay),
    coalesceWaitMs: summarize(state.coalesceWait),
    afterCoalesceMs: summarize(state.afterCoalesce),
    toFirstSocketMs: summarize(state.toFirstSocket),
    fanoutSpreadMs: summarize(state.fanoutSpread),
    firstTokenMs,
    beforeProviderMs: summarize(checked.beforeProvider),
    providerIntervalMs: summarize(checked.intervals),
    providerFirstTokenMs: summarize(direct),
    firstTokenRatio: ratio(checked.firstToken.percentile(50), direct.percentile(50), 1),
    deltaEvents: checked.deltaEvents,
    deliveries: state.deliveries,
    expectedDeliveries: checked.expectedDeliveries,
    lost: checked.lost,
    duplicates: state.duplicates,
    mismatched: checked.mismatched,
    answersMissing: complete ? checked.answersMissing : Math.max(1, checked.answersMissing),
    answersNotDone: checked.answersNotDone,
    tokensMissing: checked.tokensMissing,
    serverCpuSeconds: round(used.total, 3),
    cpuUsPerDelivery: round((used.total * 1e6) / Math.max(1, state.deliveries), 1),
    cpuByProcess: cpuByProcess(used.cpu, 3),
    clientCpuSeconds: round((clientUsage.user + clientUsage.system) / 1e6, 2),
    loopDelayP99Ms: round(loop.percentile(99) / 1e6, 1),
  };
}

/**
 * Issue 16: the whole stack (nginx → realtime replicas ← Redis ← assistant replicas → the fake provider) with
 * `chats` group chats of `socketsPerChat` sockets, the assistant a member of each, and (unless `config.bare` is
 * false) the bare baseline with as many sockets, answering @cohortgpt from the same fake (`src/bare-assistant.ts`);
 * both stacks are up at once. Per repetition, on each stack in turn (full, bare / bare, full / …), one member of
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
  const sides: Side[] = [];
  try {
    const env = modelEnv(config, fake.baseUrl);
    // One after the other: starting both at once on 2 shared cores can exceed their start timeout.
    await startSide('full', config, env, sides, log);
    if (config.bare) await startSide('bare', config, env, sides, log);
    // Warm-up: JIT, connection pools, the first provider calls; not reported.
    for (const side of sides) {
      const warm = await runRep(side, fake.baseUrl, config, config.reps);
      log(`assistant: warm-up ${side.name}: ${describeRep(warm)}`);
    }
    const reps: Array<Rep<AssistantStreamRep>> = [];
    for (let r = 0; r < config.reps; r += 1) {
      const rep: Rep<AssistantStreamRep> = {};
      for (const side of alternate(r, sides)) {
        rep[side.name] = await runRep(side, fake.baseUrl, config, r);
        log(`assistant rep ${r + 1}: ${side.name}: ${describeRep(rep[side.name]!)}`);
      }
      reps.push(rep);
    }
    const stacks: AssistantStreamResult['stacks'] = {};
    for (const side of sides) {
      stacks[side.name] = {
        description: `${side.stack.description}; the fake provider on a thread of the bench process`,
        setupSeconds: side.setupSeconds,
        connectSeconds: side.connectSeconds,
      };
    }
    return { config, stacks, reps, durationSeconds: round((performance.now() - partStarted) / 1000) };
  } finally {
    for (const side of sides) await stopSide(side);
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
