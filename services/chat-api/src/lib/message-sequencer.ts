import { AppError, type Message } from '@cohort/common';
import type { MessageRepository } from '../data/message.repository';

/**
 * Assigns each message its chat's next seq: strictly increasing from 1, no gap, no duplicate (DESIGN.md §2).
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
 * never see N+1 before N. A duplicate clientMsgId surfaces as its own unique-index error and returns the
 * stored original instead.
 *
 * Within this process the sends of one chat go through a serial lane that remembers the chat's highest
 * seq, so concurrent senders do not fight over the same seq (no retry storm): one insert per message.
 * Across replicas the unique index arbitrates, and a loser pays one re-read. The lane is dropped once idle.
 */
export interface MessageSequencer {
  append(
    chatId: string,
    draft: { senderId: string; text: string; clientMsgId: string },
    /** Runs inside the lane right after the insert, so what it starts (the publish) leaves in seq order. */
    onStored: (message: Message) => void,
  ): Promise<{ message: Message; created: boolean }>;
}

interface Lane {
  tail: Promise<void>;
  waiting: number;
  /** Highest seq known stored; undefined = read it from the store. */
  lastSeq: number | undefined;
}

const MAX_ATTEMPTS = 25;

export function createMessageSequencer(messages: MessageRepository, now: () => Date = () => new Date()): MessageSequencer {
  const lanes = new Map<string, Lane>();

  const inLane = <T>(chatId: string, work: (lane: Lane) => Promise<T>): Promise<T> => {
    let lane = lanes.get(chatId);
    if (!lane) {
      lane = { tail: Promise.resolve(), waiting: 0, lastSeq: undefined };
      lanes.set(chatId, lane);
    }
    const current = lane;
    current.waiting += 1;
    const result = current.tail.then(() => work(current));
    current.tail = result.then(
      () => undefined,
      () => undefined,
    );
    void current.tail.then(() => {
      current.waiting -= 1;
      if (current.waiting === 0 && lanes.get(chatId) === current) lanes.delete(chatId);
    });
    return result;
  };

  return {
    append(chatId, draft, onStored) {
      return inLane(chatId, async (lane) => {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          lane.lastSeq ??= await messages.maxSeq(chatId);
          const seq = lane.lastSeq + 1;
          const outcome = await messages.insert(chatId, { ...draft, seq, createdAt: now() });
          if (outcome.kind === 'inserted') {
            lane.lastSeq = seq;
            onStored(outcome.message);
            return { message: outcome.message, created: true };
          }
          if (outcome.kind === 'client_msg_id_taken') {
            const original = await messages.findByClientMsgId(chatId, draft.senderId, draft.clientMsgId);
            if (!original) throw new Error('clientMsgId reported taken but no message holds it');
            return { message: original, created: false };
          }
          // Another replica stored this seq first: learn the new highest and try the next one.
          lane.lastSeq = undefined;
        }
        throw new AppError(503, 'sequence_contention', 'The chat is too busy right now; retry the send', { 'Retry-After': '1' });
      });
    },
  };
}
