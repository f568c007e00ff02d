import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Message } from '@cohort/common';
import { waitFor } from '@cohort/testkit';
import type { TrackedClient } from './tracked-client';

export interface SendAttempt {
  client: TrackedClient;
  chatId: string;
  clientMsgId: string;
  text: string;
  /** Why it was not acknowledged: an error code, or `no_ack` (timeout, connection lost). */
  reason: string;
}

/**
 * A steady stream of `chat:send` from random connected clients at `ratePerSecond`. Keeps every acknowledged
 * message (the promise under test) and every send that was not acknowledged (which a client retries with the
 * same clientMsgId, as `retryUnacked` does).
 */
export class Traffic {
  readonly acked = new Map<string, Message>();
  readonly unacked: SendAttempt[] = [];
  readonly errorCodes: Record<string, number> = {};
  attempts = 0;
  /** Time to each answer (ack or error ack) of the stream's sends; timeouts not included. */
  readonly ackLatencies: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private n = 0;

  constructor(
    private readonly clients: readonly TrackedClient[],
    private readonly ratePerSecond: number,
    private readonly ackTimeoutMs = 3000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000 / this.ratePerSecond);
  }

  /** Stops sending and waits for the answers of sends in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  /** Resolves once `count` more sends have been acknowledged. */
  async ackedAtLeast(count: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => {
      if (this.acked.size < count) throw new Error(`acked ${this.acked.size}/${count}`);
    }, timeoutMs);
  }

  private tick(): void {
    const ready = this.clients.filter((c) => c.socket.connected);
    if (ready.length === 0) return;
    const client = ready[Math.floor(Math.random() * ready.length)]!;
    const chatId = client.chatIds[Math.floor(Math.random() * client.chatIds.length)]!;
    const n = (this.n += 1);
    const attempt = { client, chatId, clientMsgId: `t${n}-${randomUUID()}`, text: `message ${n}` };
    const pending = this.send(attempt).finally(() => this.inFlight.delete(pending));
    this.inFlight.add(pending);
  }

  private async send(attempt: Omit<SendAttempt, 'reason'>): Promise<void> {
    this.attempts += 1;
    const reason = await this.sendOnce(attempt);
    if (reason !== undefined) {
      this.errorCodes[reason] = (this.errorCodes[reason] ?? 0) + 1;
      this.unacked.push({ ...attempt, reason });
    }
  }

  /** One send; undefined when acknowledged, else why not. */
  private async sendOnce({
    client,
    chatId,
    clientMsgId,
    text,
  }: Omit<SendAttempt, 'reason'>): Promise<string | undefined> {
    const started = performance.now();
    try {
      const ack = await client.socket
        .timeout(this.ackTimeoutMs)
        .emitWithAck('chat:send', { chatId, text, clientMsgId });
      this.ackLatencies.push(performance.now() - started);
      if (!ack.ok) return ack.error.code;
      this.acked.set(clientMsgId, ack.message);
      return undefined;
    } catch {
      return 'no_ack';
    }
  }

  /**
   * Retries every unacknowledged send with its clientMsgId from the same client once it is connected, as a
   * client does after an error or a reconnect. Returns the attempts still not acknowledged.
   */
  async retryUnacked(rounds = 5): Promise<SendAttempt[]> {
    let left = this.unacked.splice(0);
    for (let round = 0; round < rounds && left.length > 0; round += 1) {
      const failed: SendAttempt[] = [];
      for (const attempt of left) {
        if (!attempt.client.socket.connected) {
          await waitFor(() => {
            if (!attempt.client.socket.connected) throw new Error('reconnecting');
          }, 20_000).catch(() => undefined);
        }
        const reason = await this.sendOnce(attempt);
        if (reason !== undefined) failed.push({ ...attempt, reason });
      }
      left = failed;
      if (left.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    this.unacked.push(...left);
    return left;
  }
}

/** Everything a fault case checks about delivery, from the acks, the store and each client's inbox. */
export interface DeliveryVerdict {
  acked: number;
  /** Acknowledged but not in the store. */
  lostInStore: number;
  /** Acknowledged messages some member's client does not hold after its reconnect sync. */
  lostAtClients: number;
  /** Stored messages sharing a (sender, clientMsgId). */
  duplicatesStored: number;
  /** Same message delivered live twice to one client. */
  duplicateDeliveries: number;
  outOfOrderLive: number;
  /** Every chat's stored seqs are 1..N and each client's inbox is exactly that. */
  seqGapFree: boolean;
  problems: string[];
}

export function verdict(
  clients: readonly TrackedClient[],
  acked: ReadonlyMap<string, Message>,
  storedByChat: ReadonlyMap<
    string,
    Array<{ id: string; seq: number; senderId: string; clientMsgId: string }>
  >,
): DeliveryVerdict {
  const problems: string[] = [];
  const storedIds = new Set<string>();
  let duplicatesStored = 0;
  let seqGapFree = true;
  for (const [chatId, stored] of storedByChat) {
    const keys = new Set<string>();
    stored.forEach((m, i) => {
      storedIds.add(m.id);
      const key = `${m.senderId}/${m.clientMsgId}`;
      if (keys.has(key)) duplicatesStored += 1;
      keys.add(key);
      if (m.seq !== i + 1) {
        seqGapFree = false;
        if (problems.length < 10) problems.push(`chat ${chatId}: seq ${m.seq} at position ${i + 1}`);
      }
    });
  }
  const lostInStore = [...acked.values()].filter((m) => !storedIds.has(m.id));
  for (const m of lostInStore.slice(0, 5)) problems.push(`acked but not stored: ${JSON.stringify(m)}`);

  let lostAtClients = 0;
  for (const client of clients) {
    for (const chatId of client.chatIds) {
      const have = client.inbox.get(chatId)!;
      const stored = storedByChat.get(chatId) ?? [];
      for (const m of acked.values()) {
        if (m.chatId === chatId && have.get(m.seq)?.id !== m.id) {
          lostAtClients += 1;
          if (problems.length < 10) problems.push(`${client.label} misses ${chatId}#${m.seq}`);
        }
      }
      const seqs = [...have.keys()].sort((a, b) => a - b);
      if (seqs.length !== stored.length || seqs.some((s, i) => s !== i + 1)) {
        seqGapFree = false;
        if (problems.length < 10)
          problems.push(`${client.label} holds ${seqs.length}/${stored.length} of ${chatId}`);
      }
    }
  }
  return {
    acked: acked.size,
    lostInStore: lostInStore.length,
    lostAtClients,
    duplicatesStored,
    duplicateDeliveries: clients.reduce((s, c) => s + c.duplicates, 0),
    outOfOrderLive: clients.reduce((s, c) => s + c.outOfOrder, 0),
    seqGapFree,
    problems,
  };
}
