import { AppError, type Message, type MessageAi } from '@cohort/common';
import type { MessageRepository } from '../data/message.repository';

/**
 * Assigns each message its chat's next seq: strictly increasing from 1, no gap, no duplicate (docs/http-api.md).
 *
 * Why not `$inc` a counter on the chat and then insert: the increment and the insert are two writes, and
 * everything that fails between them burns a seq for good: the insert losing a clientMsgId race (a
 * concurrent retry of the same send), a database error, a crash. Worse, two writers holding 5 and 6 can
 * insert 6 first, and a client reading `?after=4` in between moves its cursor past 5 and never sees it.
 *
 * So a seq exists only as a stored message. The next seq is "highest stored + 1", and the message is
 * inserted with it; the unique (chatId, seq) index refuses a seq another writer (another replica) stored
 * first, in which case we re-read the highest seq and try again. Nothing is reserved before the insert, so
 * a failed or lost insert leaves no gap, and seq N+1 can only be computed after N is stored, so readers
 * never see N+1 before N. A duplicate clientMsgId surfaces as its own unique-index error and answers with
 * the stored original instead.
 *
 * Within this process the sends of one chat go through a serial lane that remembers the chat's highest
 * seq, so concurrent senders do not fight over seqs (no retry storm). Sends that queue up while an insert
 * is in flight go out together as one ordered insertMany with consecutive seqs: an ordered insert stores
 * a prefix and stops at the first refusal, so a batch cannot leave a gap either, and a busy chat costs one
 * round trip per batch rather than per message. Across replicas the unique index arbitrates, and a loser
 * pays one re-read. Idle lanes keep their highest seq (a stale value only costs one refused insert: every
 * seq up to the true highest exists) and the least recently created idle lanes are dropped past a bound.
 *
 * What a stored batch implies elsewhere (the chat's lastSeq, the senders' read markers) is handed to `afterStored`,
 * which writes it behind the send (record-stored-messages.ts): a send settles once its message is stored and
 * published. A lane that learns its chat's highest seq from the store also hands over the stored latest message,
 * so bookkeeping a crash lost is written again by the chat's next send in any process.
 */
export interface MessageSequencer {
  append(
    chatId: string,
    draft: MessageDraft,
    /** Runs in the lane right after the insert, in seq order, so what it starts (the publish) leaves in seq order. */
    onStored: (message: Message) => void,
  ): Promise<{ message: Message; created: boolean }>;
}

/** What bookkeeping needs of a stored message. */
export type StoredMark = Pick<Message, 'seq' | 'senderId' | 'createdAt'>;

export interface MessageDraft {
  senderId: string;
  text: string;
  clientMsgId: string;
  replyTo?: string;
  mentions?: string[];
  /** The assistant's answers (store-answer.ts). */
  ai?: MessageAi;
}

interface Pending {
  draft: MessageDraft;
  onStored: (message: Message) => void;
  resolve: (result: { message: Message; created: boolean }) => void;
  reject: (err: unknown) => void;
  /** Inserted (and settled). */
  stored?: boolean;
}

interface Lane {
  queue: Pending[];
  draining: boolean;
  /** Highest seq known stored; undefined = read it from the store. */
  lastSeq: number | undefined;
}

export interface MessageSequencerOptions {
  messages: MessageRepository;
  /** Records what a stored batch (one chat, ascending seqs) implies outside the messages collection; must not throw. */
  afterStored?: (chatId: string, stored: readonly StoredMark[]) => void;
  now?: () => Date;
}

const MAX_BATCH = 100;
const MAX_SEQ_REFUSALS = 25;
const MAX_LANES = 10_000;

export function createMessageSequencer({
  messages,
  afterStored = () => undefined,
  now = () => new Date(),
}: MessageSequencerOptions): MessageSequencer {
  const lanes = new Map<string, Lane>();

  /** Stores `batch` with consecutive seqs, settling each entry; throws only what it could not attribute. */
  const writeBatch = async (chatId: string, lane: Lane, batch: Pending[]): Promise<void> => {
    let remaining = batch;
    // Only seq refusals count: a clientMsgId refusal always settles one entry, so it cannot loop.
    let seqRefusals = 0;
    while (remaining.length > 0) {
      if (seqRefusals >= MAX_SEQ_REFUSALS) {
        throw new AppError(503, 'sequence_contention', 'The chat is too busy right now; retry the send', {
          'Retry-After': '1',
        });
      }
      if (lane.lastSeq === undefined) {
        const latest = await messages.latest(chatId);
        if (latest) afterStored(chatId, [latest]);
        lane.lastSeq = latest?.seq ?? 0;
      }
      const base = lane.lastSeq;
      const createdAt = now();
      const outcome = await messages.insertSequence(
        chatId,
        remaining.map((p, i) => ({ ...p.draft, seq: base + i + 1, createdAt })),
      );
      lane.lastSeq = base + outcome.stored.length;
      if (outcome.stored.length > 0) {
        const storedSends = remaining.slice(0, outcome.stored.length);
        outcome.stored.forEach((message, i) => {
          storedSends[i]!.stored = true;
          storedSends[i]!.onStored(message);
        });
        afterStored(chatId, outcome.stored);
        outcome.stored.forEach((message, i) => storedSends[i]!.resolve({ message, created: true }));
      }
      remaining = remaining.slice(outcome.stored.length);
      if (outcome.refused === 'client_msg_id_taken') {
        const [duplicate, ...rest] = remaining;
        remaining = rest;
        if (duplicate) {
          const { senderId, clientMsgId } = duplicate.draft;
          const original = await messages.findByClientMsgId(chatId, senderId, clientMsgId);
          if (original) duplicate.resolve({ message: original, created: false });
          else duplicate.reject(new Error('clientMsgId reported taken but no message holds it'));
        }
      } else if (outcome.refused === 'seq_taken') {
        // Another replica stored this seq first: learn the new highest and go on from there.
        seqRefusals += 1;
        lane.lastSeq = undefined;
      }
    }
  };

  const drain = async (chatId: string, lane: Lane): Promise<void> => {
    lane.draining = true;
    while (lane.queue.length > 0) {
      const batch = lane.queue.splice(0, MAX_BATCH);
      try {
        await writeBatch(chatId, lane, batch);
      } catch (err) {
        // Unknown outcome (the store failed mid-write): forget what we knew, fail the unsettled sends.
        // Their clients retry with the same clientMsgId, which finds whatever did get stored.
        lane.lastSeq = undefined;
        for (const pending of batch) if (!pending.stored) pending.reject(err);
      }
    }
    lane.draining = false;
  };

  const laneFor = (chatId: string): Lane => {
    const existing = lanes.get(chatId);
    if (existing) return existing;
    if (lanes.size >= MAX_LANES) {
      for (const [id, lane] of lanes) {
        if (lanes.size < MAX_LANES * 0.9) break;
        if (!lane.draining && lane.queue.length === 0) lanes.delete(id);
      }
    }
    const lane: Lane = { queue: [], draining: false, lastSeq: undefined };
    lanes.set(chatId, lane);
    return lane;
  };

  return {
    append(chatId, draft, onStored) {
      return new Promise((resolve, reject) => {
        const lane = laneFor(chatId);
        lane.queue.push({ draft, onStored, resolve, reject });
        if (!lane.draining) void drain(chatId, lane);
      });
    },
  };
}
