import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LightSocket } from './light-client';
import { CpuMeter, cpuByProcess } from './proc';
import { round, Samples, summarize, type LatencySummary } from './stats';
import type { BenchChat, Stack } from './stacks';

/** What one open-loop run (one rate, or a staircase of rates) measured. */
export interface LoadResult {
  stack: 'full' | 'bare';
  sockets: number;
  chats: number;
  /** Offered send rate (messages/s over all chats) and what the sender achieved. */
  targetRate: number;
  achievedRate: number;
  seconds: number;
  sent: number;
  acked: number;
  ackFailures: number;
  sendToAckMs: LatencySummary;
  sendToReceiveMs: LatencySummary;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerSecond: number;
  /** Deliveries of stored (full) or acknowledged (bare) messages that never reached a member socket. */
  lostDeliveries: number;
  /** Acknowledged messages that `chat:sync` does not return (full stack only). */
  ackedNotStored: number;
  duplicates: number;
  disconnects: number;
  drained: boolean;
  stoppedEarly: boolean;
  /** Server CPU (every server process, from /proc) over the run, per message and per 1,000 deliveries. */
  serverCpuSeconds: number;
  cpuMsPerMessage: number;
  cpuMsPer1kDeliveries: number;
  cpuByProcess: Record<string, number>;
  /**
   * Store commands per stored message over the run, in all and by command name (serverStatus `metrics.commands`;
   * the servers' connection monitoring and the bench's own reads left out); undefined without a store (bare).
   */
  storeCommandsPerMessage?: number;
  storeCommandsByName?: Record<string, number>;
  /** The load generator's own CPU (this process) and its event-loop delay p99: a starving generator shows here. */
  clientCpuSeconds: number;
  loopDelayP99Ms: number;
  monotonicUs: [number, number];
}

/** One step of a staircase: its rung of the ladder, the rate it offered and whether it held the budget. */
export interface StairStep {
  rung: number;
  rate: number;
  achievedRate: number;
  sent: number;
  p99Ms: number;
  lost: number;
  held: boolean;
}

export interface StaircaseResult {
  steps: StairStep[];
  /** The highest step that held before two consecutive steps failed: messages/s and deliveries/s. */
  capacityRate: number;
  capacityDeliveries: number;
  /** The ladder rung of that step (-1 when no step held): where the next repetition may start climbing. */
  capacityRung: number;
  run: LoadResult;
}

interface SentRecord {
  chat: number;
  step: number;
  sentAt: number;
  delivered: number;
  acked: boolean;
  ackedAt: number;
}

interface SocketState {
  socket: LightSocket;
  chat: number;
  seen: Set<string>;
}

type AckReply = { ok: true; message: { id: string; seq: number } } | { ok: false; error: { code: string } };
type SyncReply =
  | { ok: true; messages: Array<{ seq: number; clientMsgId: string }> }
  | { ok: false; error: { code: string } };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const CLIENT_MSG_ID = '"clientMsgId":"';

/** The clientMsgId of a `chat:new` frame, found without parsing the whole message (the generator's CPU). */
function clientMsgIdOf(frame: string): string | undefined {
  const at = frame.indexOf(CLIENT_MSG_ID);
  if (at < 0) return undefined;
  const start = at + CLIENT_MSG_ID.length;
  return frame.slice(start, frame.indexOf('"', start));
}

/**
 * Sockets through nginx, each a member of one chat, sending open loop at a fixed rate or a staircase of rates.
 * Message i goes to chat i mod chats, sent by the chat's sockets in turn (so every member sends); every socket
 * of the chat, the sender's included, should receive it exactly once. After a run the bench waits for every
 * delivery and, on the full stack, reads each chat back with `chat:sync` to count acknowledged messages that
 * were not stored.
 */
export class ChatLoad {
  private readonly sockets: SocketState[] = [];
  private readonly byChat: SocketState[][];
  private records = new Map<string, SentRecord>();
  private stepLatencies: Samples[] = [];
  private latencies = new Samples();
  private deliveries = 0;
  private duplicates = 0;
  private disconnects = 0;
  private lastDeliveryAt = 0;
  private readonly lastSeq: number[];
  private readonly runId = randomUUID().slice(0, 8);
  private runs = 0;

  constructor(
    private readonly stack: Stack,
    private readonly chats: BenchChat[],
  ) {
    this.lastSeq = chats.map(() => 0);
    this.byChat = chats.map(() => []);
  }

  get size(): number {
    return this.sockets.length;
  }

  /** One socket per member of every chat. */
  connectMembers(concurrency = 48): Promise<number> {
    const plan = this.chats.flatMap((chat, c) => chat.memberAuth.map((auth) => ({ chat: c, auth })));
    return this.connectPlan(plan, concurrency);
  }

  /** `count` more sockets, socket k in chat k mod chats, cycling through the chat's members. */
  connect(count: number, concurrency = 48): Promise<number> {
    const base = this.sockets.length;
    const n = this.chats.length;
    const plan = Array.from({ length: count }, (_, i) => {
      const k = base + i;
      const { memberAuth } = this.chats[k % n]!;
      return { chat: k % n, auth: memberAuth[Math.floor(k / n) % memberAuth.length]! };
    });
    return this.connectPlan(plan, concurrency);
  }

  private async connectPlan(
    plan: Array<{ chat: number; auth: Record<string, unknown> }>,
    concurrency: number,
  ): Promise<number> {
    const started = performance.now();
    const wsUrl = this.stack.edgeUrl.replace(/^http/, 'ws');
    const events = new Set(['chat:new']);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, plan.length) }, async () => {
        while (next < plan.length) {
          const { chat, auth } = plan[next]!;
          next += 1;
          const state: SocketState = { chat, seen: new Set(), socket: undefined as unknown as LightSocket };
          state.socket = new LightSocket({
            baseUrl: wsUrl,
            query: { cid: randomUUID() },
            auth,
            events,
            onRawEvent: (frame) => this.onMessage(state, frame),
          });
          await state.socket.connect();
          state.socket.onClose = () => {
            this.disconnects += 1;
          };
          this.sockets.push(state);
          this.byChat[chat]!.push(state);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  }

  private onMessage(state: SocketState, frame: string): void {
    const clientMsgId = clientMsgIdOf(frame);
    const record = clientMsgId === undefined ? undefined : this.records.get(clientMsgId);
    if (!record || clientMsgId === undefined) return; // a late delivery from an earlier run
    if (state.seen.has(clientMsgId)) {
      this.duplicates += 1;
      return;
    }
    state.seen.add(clientMsgId);
    const now = performance.now();
    record.delivered += 1;
    this.deliveries += 1;
    this.lastDeliveryAt = now;
    const latency = now - record.sentAt;
    this.latencies.add(latency);
    this.stepLatencies[record.step]?.add(latency);
  }

  /** Sends at `rate` messages/s for `seconds`, then drains and checks delivery. */
  async run(rate: number, seconds: number): Promise<LoadResult> {
    const { run } = await this.drive([{ rate, seconds }], () => false);
    return run;
  }

  /**
   * One continuous open-loop run up the ladder `startRate × factor^rung` (rungs 0 … maxSteps − 1), one rung every
   * `stepSeconds`, from `firstRung` (0 by default: a later repetition may skip the low rungs and still offers the
   * same rates). Each step is judged on its own messages (`metric` p99 within `budgetMs`, unanswered ones counting
   * as over, nothing lost); the run stops after two consecutive failed steps (one failure alone can be another
   * process's burst on a shared machine) or the top rung. Capacity: the fastest step that held before that.
   */
  async staircase(options: {
    startRate: number;
    factor: number;
    stepSeconds: number;
    maxSteps: number;
    firstRung?: number;
    budgetMs: number;
    metric: 'ack' | 'receive';
  }): Promise<StaircaseResult> {
    const firstRung = Math.min(options.firstRung ?? 0, options.maxSteps - 1);
    const plan = Array.from({ length: options.maxSteps - firstRung }, (_, k) => ({
      rung: firstRung + k,
      rate: Math.round(options.startRate * options.factor ** (firstRung + k)),
      seconds: options.stepSeconds,
    }));
    const members = this.byChat.map((s) => s.length);
    const judge = (k: number): boolean => {
      const within: number[] = [];
      let count = 0;
      let over = 0;
      const deadline = performance.now() - options.budgetMs;
      for (const r of this.records.values()) {
        if (r.step !== k) continue;
        count += 1;
        if (options.metric === 'ack') {
          if (r.acked) within.push(r.ackedAt - r.sentAt);
          else if (r.sentAt < deadline) over += 1;
        } else if (r.delivered < members[r.chat]! && r.sentAt < deadline)
          over += members[r.chat]! - r.delivered;
      }
      if (count === 0) return false;
      if (options.metric === 'ack') {
        within.sort((a, b) => a - b);
        const rank = Math.ceil(0.99 * count);
        return rank <= within.length && within[rank - 1]! <= options.budgetMs && over <= count - rank;
      }
      const samples = this.stepLatencies[k]!;
      const expected = [...this.records.values()]
        .filter((r) => r.step === k)
        .reduce((sum, r) => sum + members[r.chat]!, 0);
      const rank = Math.ceil(0.99 * expected);
      return samples.count >= rank && samples.percentile((rank / samples.count) * 100) <= options.budgetMs;
    };
    let consecutiveFails = 0;
    const { run, stepStats } = await this.drive(
      plan,
      (finishedStep) => {
        // Called while step finishedStep + 1 runs, `budgetMs` after step finishedStep ended.
        consecutiveFails = judge(finishedStep) ? 0 : consecutiveFails + 1;
        return consecutiveFails >= 2;
      },
      options.budgetMs,
    );

    const steps: StairStep[] = stepStats.map((s, k) => {
      const samples = options.metric === 'ack' ? s.ack : (this.stepLatencies[k] ?? new Samples());
      const p99 = samples.percentile(99);
      const complete =
        options.metric === 'ack' ? s.ack.count === s.sent : samples.count === s.expectedDeliveries;
      return {
        rung: plan[k]!.rung,
        rate: plan[k]!.rate,
        achievedRate: round(s.sent / s.seconds),
        sent: s.sent,
        p99Ms: round(p99),
        lost: s.lost,
        held:
          complete && s.lost === 0 && p99 <= options.budgetMs && s.sent / s.seconds >= 0.9 * plan[k]!.rate,
      };
    });
    let capacityRate = 0;
    let capacityRung = -1;
    let fails = 0;
    for (const step of steps) {
      if (step.held) {
        fails = 0;
        capacityRate = Math.max(capacityRate, step.achievedRate);
        capacityRung = step.rung;
      } else if ((fails += 1) >= 2) break;
    }
    const meanMembers = members.reduce((a, b) => a + b, 0) / Math.max(1, members.length);
    return {
      steps,
      capacityRate: round(capacityRate),
      capacityDeliveries: Math.round(capacityRate * meanMembers),
      capacityRung,
      run,
    };
  }

  /**
   * The sending loop: `plan` phases back to back; `stop(k)` is asked `judgeDelayMs` after phase k ended (and at
   * the end of each later phase) and ends the run when it answers true.
   */
  private async drive(
    plan: Array<{ rate: number; seconds: number }>,
    stop: (finishedStep: number) => boolean,
    judgeDelayMs = 0,
  ): Promise<{
    run: LoadResult;
    stepStats: Array<{
      sent: number;
      seconds: number;
      ack: Samples;
      lost: number;
      expectedDeliveries: number;
    }>;
  }> {
    const chats = this.chats.length;
    const members = this.byChat.map((s) => s.length);
    if (members.some((m) => m === 0)) throw new Error('every chat needs at least one socket');
    this.runs += 1;
    this.records = new Map();
    this.latencies = new Samples();
    this.stepLatencies = plan.map(() => new Samples());
    this.deliveries = 0;
    this.duplicates = 0;
    this.disconnects = 0;
    for (const s of this.sockets) s.seen.clear();
    const stepStats = plan.map(() => ({
      sent: 0,
      seconds: 0,
      ack: new Samples(),
      lost: 0,
      expectedDeliveries: 0,
    }));
    const ackLatencies = new Samples();
    let acked = 0;
    let ackFailures = 0;
    let outstanding = 0;
    const tag = `${this.runId}-${this.runs}`;
    const storeBefore = await this.stack.storeCommands();
    const meter = new CpuMeter(this.stack.serverProcesses()).begin();
    const clientCpu = process.cpuUsage();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const monotonicStart = Number(process.hrtime.bigint() / 1000n);

    const started = performance.now();
    let sent = 0;
    let stoppedEarly = false;
    let judged = -1;
    const stepEnds: number[] = [];
    for (let k = 0, t = 0; k < plan.length; k += 1) stepEnds.push((t += plan[k]!.seconds * 1000));
    const maxRate = Math.max(...plan.map((p) => p.rate));
    await new Promise<void>((resolve) => {
      let step = 0;
      let stepStarted = 0;
      let stepSentBase = 0;
      const sendUpTo = (due: number) => {
        while (sent < due) {
          const chat = sent % chats;
          const turn = Math.floor(sent / chats);
          const sender = this.byChat[chat]![turn % members[chat]!]!;
          const clientMsgId = `b-${tag}-${sent}`;
          const record: SentRecord = {
            chat,
            step,
            sentAt: performance.now(),
            delivered: 0,
            acked: false,
            ackedAt: 0,
          };
          const stats = stepStats[step]!;
          this.records.set(clientMsgId, record);
          outstanding += 1;
          sender.socket
            .emitWithAck(
              'chat:send',
              { chatId: this.chats[chat]!.id, text: `load ${tag} ${sent}`, clientMsgId },
              15_000,
            )
            .then(
              (reply) => {
                outstanding -= 1;
                if ((reply as AckReply).ok) {
                  acked += 1;
                  record.acked = true;
                  record.ackedAt = performance.now();
                  ackLatencies.add(record.ackedAt - record.sentAt);
                  stats.ack.add(record.ackedAt - record.sentAt);
                } else ackFailures += 1;
              },
              () => {
                outstanding -= 1;
                ackFailures += 1;
              },
            );
          sent += 1;
        }
      };
      const tick = () => {
        const elapsed = performance.now() - started;
        // Send what is due in the current step; a step that ended gets its whole quota, then the next begins.
        while (step < plan.length) {
          const end = stepEnds[step]!;
          sendUpTo(
            stepSentBase + Math.floor(((Math.min(elapsed, end) - stepStarted) * plan[step]!.rate) / 1000),
          );
          if (elapsed < end) break;
          stepStats[step]!.seconds = (end - stepStarted) / 1000;
          stepStats[step]!.sent = sent - stepSentBase;
          stepStarted = end;
          stepSentBase = sent;
          step += 1;
        }
        // Judge finished steps once their last messages had `judgeDelayMs` to answer.
        while (judged + 1 < step && elapsed >= stepEnds[judged + 1]! + judgeDelayMs) {
          judged += 1;
          if (stop(judged)) {
            stoppedEarly = true;
            stepStats.length = step;
            resolve();
            return;
          }
        }
        if (step >= plan.length) {
          resolve();
          return;
        }
        // Open loop, but give up once acks lag two seconds of traffic (the stack is saturated).
        if (outstanding > 2 * maxRate && elapsed > 1000) {
          stoppedEarly = true;
          stepStats[step]!.seconds = (elapsed - stepStarted) / 1000;
          stepStats[step]!.sent = sent - stepSentBase;
          stepStats.length = step + 1;
          resolve();
          return;
        }
        setTimeout(tick, 2);
      };
      tick();
    });
    const sendSeconds = (performance.now() - started) / 1000;

    // Drain: the outstanding acks, and every acked message at every member socket.
    const complete = () =>
      outstanding === 0 &&
      [...this.records.values()].every((r) => !r.acked || r.delivered >= members[r.chat]!);
    const deadline = performance.now() + 8000;
    while (!complete() && performance.now() < deadline) await sleep(20);
    const drained = complete();
    // Saturated runs leave work queued: let it finish (so it does not skew the next run) before counting.
    const settleDeadline = performance.now() + 20_000;
    while (!complete() && performance.now() < settleDeadline) await sleep(50);
    const cpu = meter.end();
    const storeAfter = storeBefore && (await this.stack.storeCommands());
    const client = process.cpuUsage(clientCpu);
    loop.disable();
    const monotonicEnd = Number(process.hrtime.bigint() / 1000n);

    // What was stored (full) or acknowledged (bare), and who missed what.
    let ackedNotStored = 0;
    let storedRecords = [...this.records.values()].filter((r) => r.acked);
    if (this.stack.persistent) {
      const stored = new Set<string>();
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let c = w; c < chats; c += 16) {
            for (const id of await this.syncChat(c)) stored.add(id);
          }
        }),
      );
      storedRecords = [];
      for (const [clientMsgId, record] of this.records) {
        if (stored.has(clientMsgId)) storedRecords.push(record);
        else if (record.acked) ackedNotStored += 1;
      }
    }
    let lostDeliveries = 0;
    let expectedDeliveries = 0;
    for (const record of storedRecords) {
      const missing = members[record.chat]! - record.delivered;
      expectedDeliveries += members[record.chat]!;
      const stats = stepStats[record.step];
      if (stats) stats.expectedDeliveries += members[record.chat]!;
      if (missing > 0) {
        lostDeliveries += missing;
        if (stats) stats.lost += missing;
      }
    }
    const storedSet = new Set(storedRecords);
    for (const record of this.records.values()) {
      const stats = stepStats[record.step];
      if (stats && record.acked && !storedSet.has(record)) stats.lost += 1;
    }
    const store =
      storeAfter && storeBefore ? storeCommandsPer(storeBefore, storeAfter, storedRecords.length) : {};
    const deliverySeconds = Math.max(sendSeconds, (this.lastDeliveryAt - started) / 1000);
    const messages = storedRecords.length;
    return {
      stepStats,
      run: {
        stack: this.stack.name,
        sockets: this.sockets.length,
        chats,
        targetRate: plan[0]!.rate,
        achievedRate: round(sent / sendSeconds),
        seconds: round(sendSeconds, 2),
        sent,
        acked,
        ackFailures,
        sendToAckMs: summarize(ackLatencies),
        sendToReceiveMs: summarize(this.latencies),
        deliveries: this.deliveries,
        expectedDeliveries,
        deliveriesPerSecond: Math.round(this.deliveries / deliverySeconds),
        lostDeliveries,
        ackedNotStored,
        duplicates: this.duplicates,
        disconnects: this.disconnects,
        drained,
        stoppedEarly,
        serverCpuSeconds: round(cpu.total, 2),
        cpuMsPerMessage: messages > 0 ? round((cpu.total * 1000) / messages, 3) : Number.NaN,
        cpuMsPer1kDeliveries:
          this.deliveries > 0 ? round((cpu.total * 1000 * 1000) / this.deliveries, 2) : Number.NaN,
        cpuByProcess: cpuByProcess(cpu.cpu),
        ...store,
        clientCpuSeconds: round((client.user + client.system) / 1e6, 2),
        loopDelayP99Ms: round(loop.percentile(99) / 1e6),
        monotonicUs: [monotonicStart, monotonicEnd],
      },
    };
  }

  /** The clientMsgIds stored in chat `c` since the last check, paging through `chat:sync` as a client would. */
  private async syncChat(c: number): Promise<string[]> {
    const socket = this.byChat[c]![0]!.socket;
    const all: string[] = [];
    let cursor = this.lastSeq[c]!;
    for (;;) {
      const reply = (await socket.emitWithAck('chat:sync', {
        chatId: this.chats[c]!.id,
        afterSeq: cursor,
      })) as SyncReply;
      if (!reply.ok) throw new Error(`chat:sync refused: ${reply.error.code}`);
      for (const m of reply.messages) all.push(m.clientMsgId);
      if (reply.messages.length === 0) break;
      cursor = reply.messages[reply.messages.length - 1]!.seq;
      if (reply.messages.length < 100) break;
    }
    this.lastSeq[c] = cursor;
    return all;
  }

  close(): void {
    for (const s of this.sockets) s.socket.terminate();
    this.sockets.length = 0;
    for (const list of this.byChat) list.length = 0;
  }
}

/** Commands that are not the product's work: the drivers' server monitoring and the bench's serverStatus reads. */
const MONITORING_COMMANDS = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'serverStatus', 'buildInfo']);

/** Store commands per message between two `metrics.commands` readings, in all and by name. */
function storeCommandsPer(
  before: Record<string, number>,
  after: Record<string, number>,
  messages: number,
): Pick<LoadResult, 'storeCommandsPerMessage' | 'storeCommandsByName'> {
  const byName: Record<string, number> = {};
  let all = 0;
  for (const [name, total] of Object.entries(after)) {
    const delta = total - (before[name] ?? 0);
    if (delta <= 0 || MONITORING_COMMANDS.has(name)) continue;
    all += delta;
    byName[name] = round(delta / Math.max(1, messages), 3);
  }
  return { storeCommandsPerMessage: round(all / Math.max(1, messages), 3), storeCommandsByName: byName };
}
