import { performance } from 'node:perf_hooks';
import type { Message } from '@cohort/common';
import { syncAll, type ChatSocket, type TestUser } from '@cohort/testkit';

/**
 * A chat client as the product's clients behave: it keeps what it received per chat (deduplicated by seq), and
 * after every reconnect it asks `chat:sync` for everything after the highest seq it holds without a gap. It
 * counts what the fault cases measure: duplicate and out-of-order live deliveries, disconnects, and catch-up
 * times (disconnect → synced).
 */
export class TrackedClient {
  /** chatId → seq → message, from live delivery and syncs. */
  readonly inbox = new Map<string, Map<number, Message>>();
  /** The same message delivered live twice to this client. */
  duplicates = 0;
  /** A live message with a lower seq than one delivered live before it (same connection). */
  outOfOrder = 0;
  disconnects = 0;
  /** Syncs started because a live message revealed a gap. */
  gapSyncs = 0;
  readonly catchUpsMs: number[] = [];
  readonly syncFailures: string[] = [];
  private readonly liveIds = new Set<string>();
  private readonly lastLiveSeq = new Map<string, number>();
  private disconnectedAt: number | undefined;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: ChatSocket,
    readonly user: TestUser,
    readonly chatIds: readonly string[],
    readonly label = '',
    /** Also sync when a live message reveals a gap (its seq is past the next expected one), as the web client does. */
    private readonly syncOnGap = false,
  ) {
    for (const chatId of chatIds) this.inbox.set(chatId, new Map());
    socket.on('chat:new', ({ message }) => {
      if (this.liveIds.has(message.id)) this.duplicates += 1;
      this.liveIds.add(message.id);
      const last = this.lastLiveSeq.get(message.chatId) ?? 0;
      if (message.seq < last) this.outOfOrder += 1;
      this.lastLiveSeq.set(message.chatId, message.seq);
      const gap = message.seq > this.contiguous(message.chatId) + 1;
      this.take(message);
      if (gap && this.syncOnGap) {
        this.gapSyncs += 1;
        this.syncing = this.syncing.then(() =>
          this.syncNow().catch((err: unknown) => {
            this.syncFailures.push(String(err));
          }),
        );
      }
    });
    socket.on('disconnect', () => {
      this.disconnects += 1;
      this.disconnectedAt ??= performance.now();
      this.lastLiveSeq.clear();
    });
    socket.on('connect', () => {
      const since = this.disconnectedAt;
      if (since === undefined) return;
      this.disconnectedAt = undefined;
      this.syncing = this.syncing.then(() => this.catchUp(since));
    });
  }

  /** Highest seq held with no gap below it. */
  contiguous(chatId: string): number {
    const seqs = this.inbox.get(chatId)!;
    let n = 0;
    while (seqs.has(n + 1)) n += 1;
    return n;
  }

  /** Resolves once the sync started by the latest reconnect is done. */
  settled(): Promise<void> {
    return this.syncing;
  }

  /** What a client does on demand (or at the end of a case): fetch whatever it is missing. */
  async syncNow(): Promise<void> {
    for (const chatId of this.chatIds) {
      for (const m of await syncAll(this.socket, chatId, this.contiguous(chatId))) this.take(m);
    }
  }

  private take(message: Message): void {
    this.inbox.get(message.chatId)?.set(message.seq, message);
  }

  private async catchUp(since: number): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.syncNow();
        this.catchUpsMs.push(performance.now() - since);
        return;
      } catch (err) {
        if (!this.socket.connected || attempt >= 5) {
          this.syncFailures.push(String(err));
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
