import { randomUUID } from 'node:crypto';
import { LightSocket } from './light-client';
import { CpuMeter } from './proc';
import { round, Samples, summarize, type LatencySummary } from './stats';
import type { Stack } from './stacks';

/** What one fixed-rate run measured. */
export interface FanoutResult {
  stack: 'full' | 'bare';
  sockets: number;
  chats: number;
  /** Offered send rate (messages/s over all chats) and what the sender actually achieved. */
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
  /** Deliveries of stored (full) or acknowledged (bare) messages that never reached a socket in the chat. */
  lostDeliveries: number;
  /** Messages with at least one member socket missing them. */
  messagesLost: number;
  /** Acknowledged messages that `chat:sync` does not return (full stack only). */
  ackedNotStored: number;
  duplicates: number;
  /** Sockets that dropped during the run. */
  disconnects: number;
  /** Every delivery arrived before the drain deadline. */
  drained: boolean;
  /** Sending stopped early because acks fell more than a second behind (the stack is saturated). */
  stoppedEarly: boolean;
  /** CPU seconds used by the server processes during the run, and per 1,000 deliveries. */
  serverCpuSeconds: number;
  cpuMsPer1kDeliveries: number;
  cpuByProcess: Record<string, number>;
  /** CLOCK_MONOTONIC microseconds at the start and end of the run (to line up with CPU profiles' timestamps). */
  monotonicUs: [number, number];
}

interface SentRecord {
  chat: number;
  sentAt: number;
  delivered: number;
  messageId?: string;
  seq?: number;
  acked: boolean;
}

interface ChatMessage {
  id: string;
  seq: number;
  clientMsgId: string;
}

interface ChatSocketState {
  socket: LightSocket;
  chat: number;
  seen: Set<string>;
}

type AckReply = { ok: true; message: ChatMessage } | { ok: false; error: { code: string; message: string } };
type SyncReply = { ok: true; messages: ChatMessage[] } | { ok: false; error: { code: string } };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * N sockets through nginx, spread over the chats (socket k in chat k mod chats, with a fresh sticky `cid` each,
 * so nginx spreads them over the replicas). The first socket of each chat sends; every socket, the sender's
 * included, should receive each message exactly once.
 */
export class FanoutClients {
  private readonly sockets: ChatSocketState[] = [];
  private records = new Map<string, SentRecord>();
  private latencies = new Samples();
  private deliveries = 0;
  private duplicates = 0;
  private strays = 0;
  private disconnects = 0;
  private lastDeliveryAt = 0;
  private readonly lastSeq: number[];
  private readonly runId = randomUUID().slice(0, 8);

  constructor(private readonly stack: Stack) {
    this.lastSeq = stack.chats.map(() => 0);
  }

  get size(): number {
    return this.sockets.length;
  }

  /** Opens `count` more sockets (websocket transport, through nginx); resolves with the seconds it took. */
  async connect(count: number, concurrency = 32): Promise<number> {
    const started = performance.now();
    const base = this.sockets.length;
    const wsUrl = this.stack.edgeUrl.replace(/^http/, 'ws');
    const events = new Set(['chat:new']);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const k = base + next;
          next += 1;
          const chat = k % this.stack.chats.length;
          const { memberAuth } = this.stack.chats[chat]!;
          const auth = memberAuth[Math.floor(k / this.stack.chats.length) % memberAuth.length]!;
          const state: ChatSocketState = {
            chat,
            seen: new Set(),
            socket: undefined as unknown as LightSocket,
          };
          state.socket = new LightSocket({
            baseUrl: wsUrl,
            query: { cid: randomUUID() },
            auth,
            events,
            onEvent: (_name, payload) => this.onMessage(state, (payload as { message: ChatMessage }).message),
          });
          await state.socket.connect();
          state.socket.onClose = () => {
            this.disconnects += 1;
          };
          this.sockets.push(state);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  }

  private onMessage(state: ChatSocketState, message: ChatMessage): void {
    const record = this.records.get(message.clientMsgId);
    if (!record) {
      this.strays += 1; // a late delivery from an earlier run
      return;
    }
    if (state.seen.has(message.id)) {
      this.duplicates += 1;
      return;
    }
    state.seen.add(message.id);
    const now = performance.now();
    record.delivered += 1;
    this.deliveries += 1;
    this.lastDeliveryAt = now;
    this.latencies.add(now - record.sentAt);
  }

  /** Sends at `rate` messages/s (round robin over the chats) for `seconds`, then drains and checks delivery. */
  async run(rate: number, seconds: number, drainMs = 8000): Promise<FanoutResult> {
    const chats = this.stack.chats.length;
    const senders = Array.from({ length: chats }, (_, c) => this.sockets.find((s) => s.chat === c));
    if (senders.some((s) => s === undefined)) throw new Error('every chat needs at least one socket');
    const membersPerChat = Array.from(
      { length: chats },
      (_, c) => this.sockets.filter((s) => s.chat === c).length,
    );

    this.records = new Map();
    this.latencies = new Samples();
    this.deliveries = 0;
    this.duplicates = 0;
    this.disconnects = 0;
    for (const s of this.sockets) s.seen.clear();
    const ackLatencies = new Samples();
    let acked = 0;
    let ackFailures = 0;
    let outstanding = 0;
    const step = randomUUID().slice(0, 6);
    const total = Math.round(rate * seconds);
    const meter = new CpuMeter(this.stack.serverProcesses()).begin();
    const monotonicStart = Number(process.hrtime.bigint() / 1000n);

    const started = performance.now();
    let sent = 0;
    let stoppedEarly = false;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - started) * rate) / 1000));
        // Open loop: send what is due whatever the acks; give up once acks lag a full second of traffic.
        if (outstanding > rate && now - started > 1000) {
          stoppedEarly = true;
          resolve();
          return;
        }
        while (sent < due) {
          const chat = sent % chats;
          const clientMsgId = `b-${this.runId}-${step}-${sent}`;
          const record: SentRecord = { chat, sentAt: performance.now(), delivered: 0, acked: false };
          this.records.set(clientMsgId, record);
          outstanding += 1;
          senders[chat]!.socket.emitWithAck(
            'chat:send',
            { chatId: this.stack.chats[chat]!.id, text: `fan-out ${step} ${sent}`, clientMsgId },
            15_000,
          ).then(
            (reply) => {
              outstanding -= 1;
              const ack = reply as AckReply;
              if (ack.ok) {
                acked += 1;
                record.acked = true;
                record.messageId = ack.message.id;
                record.seq = ack.message.seq;
                ackLatencies.add(performance.now() - record.sentAt);
              } else {
                ackFailures += 1;
              }
            },
            () => {
              outstanding -= 1;
              ackFailures += 1;
            },
          );
          sent += 1;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 2);
      };
      tick();
    });
    const sendSeconds = (performance.now() - started) / 1000;

    // Drain: wait for the outstanding acks and for every acked message to reach every member socket.
    const deadline = performance.now() + drainMs;
    const complete = () =>
      outstanding === 0 &&
      [...this.records.values()].every((r) => !r.acked || r.delivered >= membersPerChat[r.chat]!);
    while (!complete() && performance.now() < deadline) await sleep(20);
    const drained = complete();
    // Saturated runs leave work queued: let it finish (so it does not skew the next run) before counting losses.
    const settleDeadline = performance.now() + 20_000;
    while (!complete() && performance.now() < settleDeadline) await sleep(50);
    const cpu = meter.end();
    const monotonicEnd = Number(process.hrtime.bigint() / 1000n);

    // What was stored (full) or acknowledged (bare), and who missed what.
    let ackedNotStored = 0;
    let stored: Array<{ record: SentRecord }> = [...this.records.values()]
      .filter((r) => r.acked)
      .map((record) => ({ record }));
    if (this.stack.persistent) {
      const storedByClientId = new Map<string, ChatMessage>();
      for (let c = 0; c < chats; c += 1) {
        for (const m of await this.syncChat(senders[c]!.socket, c)) storedByClientId.set(m.clientMsgId, m);
      }
      stored = [];
      for (const [clientMsgId, record] of this.records) {
        const message = storedByClientId.get(clientMsgId);
        if (message) stored.push({ record });
        else if (record.acked) ackedNotStored += 1;
      }
    }
    let lostDeliveries = 0;
    let messagesLost = 0;
    for (const { record } of stored) {
      const missing = membersPerChat[record.chat]! - record.delivered;
      if (missing > 0) {
        lostDeliveries += missing;
        messagesLost += 1;
      }
    }
    const expectedDeliveries = stored.reduce((sum, { record }) => sum + membersPerChat[record.chat]!, 0);
    const deliverySeconds = Math.max(sendSeconds, (this.lastDeliveryAt - started) / 1000);

    return {
      stack: this.stack.name,
      sockets: this.sockets.length,
      chats,
      targetRate: rate,
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
      messagesLost,
      ackedNotStored,
      duplicates: this.duplicates,
      disconnects: this.disconnects,
      drained,
      stoppedEarly,
      serverCpuSeconds: round(cpu.total, 2),
      cpuMsPer1kDeliveries:
        this.deliveries > 0 ? round((cpu.total * 1000 * 1000) / this.deliveries, 2) : Number.NaN,
      cpuByProcess: Object.fromEntries(Object.entries(cpu.cpu).map(([k, v]) => [k, round(v, 2)])),
      monotonicUs: [monotonicStart, monotonicEnd],
    };
  }

  /** Everything stored in chat `c` since the last check, paging through `chat:sync` as a client would. */
  private async syncChat(socket: LightSocket, c: number): Promise<ChatMessage[]> {
    const all: ChatMessage[] = [];
    let cursor = this.lastSeq[c]!;
    for (;;) {
      const reply = (await socket.emitWithAck('chat:sync', {
        chatId: this.stack.chats[c]!.id,
        afterSeq: cursor,
      })) as SyncReply;
      if (!reply.ok) throw new Error(`chat:sync refused: ${reply.error.code}`);
      all.push(...reply.messages);
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
  }
}
