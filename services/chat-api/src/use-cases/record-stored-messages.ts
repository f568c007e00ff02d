import { Counter, type Registry } from 'prom-client';
import type { Logger } from '@cohort/common';
import type { StoredMark } from '../domain/message-sequencer';
import type { Repositories } from './deps';

/**
 * What a stored batch of messages implies outside the messages collection: each chat's lastSeq and lastMessageAt,
 * its members' copy of that activity (which orders their chat lists, membership.schema.ts), and each sender's read
 * marker at their own latest message (a sender's own messages never count as unread for them).
 *
 * Written behind the send, not before its acknowledgement. None of it is the message: the message, its seq and its
 * delivery are settled by the insert and the publish, and everything recorded here can be derived again from the
 * stored messages. So the sends of a short window (`windowMs`) are recorded together, whatever their chats: one
 * chats write and one memberships write for all of them, where a send used to wait for both of its own. Every value
 * only moves forward (`$max`, and a marker moves only up), so coalesced, repeated and out-of-order writes converge.
 *
 * - Read your writes: `flush()` writes what is pending at once and resolves when that attempt is over. The reads
 *   that show these values call it first (recorded-reads.ts), so a client that was answered for a send sees it in
 *   its chat list on the next request to this process. Another chat-api replica may show it `windowMs` later.
 * - A failed write is kept (merged with what came since) and retried with backoff until it succeeds; it never fails
 *   a send that is already stored.
 * - A crash loses what was still pending, one window's worth while the store answers: the chats concerned show their
 *   previous last message until their next send, and the first send of a chat in a process records the chat's
 *   stored latest message again (message-sequencer.ts), which repairs the chat's lastSeq and activity.
 */
export interface StoredMessagesRecorder {
  /** Takes a stored batch (one chat, ascending seqs); written within the window. Never throws. */
  record(chatId: string, stored: readonly StoredMark[]): void;
  /** Writes what is pending now; resolves (never rejects) when that attempt is over. */
  flush(): Promise<void>;
}

export interface StoredMessagesRecorderOptions {
  repos: Pick<Repositories, 'chats' | 'memberships'>;
  logger: Logger;
  /** How long a stored message's bookkeeping waits for others to be written with (0 = the next turn). */
  windowMs: number;
  registry?: Registry;
}

interface Activity {
  seq: number;
  at: Date;
}
interface Marker {
  chatId: string;
  userId: string;
  seq: number;
}
interface Pending {
  latest: Map<string, Activity>;
  markers: Map<string, Marker>;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

const emptyPending = (): Pending => ({ latest: new Map(), markers: new Map() });
const isEmpty = (p: Pending) => p.latest.size === 0 && p.markers.size === 0;

function addActivity(into: Pending, chatId: string, activity: Activity): void {
  const known = into.latest.get(chatId);
  if (!known || activity.seq > known.seq) into.latest.set(chatId, activity);
}

function addMarker(into: Pending, marker: Marker): void {
  const key = `${marker.chatId}:${marker.userId}`;
  const known = into.markers.get(key);
  if (!known || marker.seq > known.seq) into.markers.set(key, marker);
}

export function createStoredMessagesRecorder({
  repos,
  logger,
  windowMs,
  registry,
}: StoredMessagesRecorderOptions): StoredMessagesRecorder {
  const failures = new Counter({
    name: 'chat_bookkeeping_write_failures_total',
    help: 'Bookkeeping writes (chat activity, read markers) that failed and were kept for a retry',
    registers: registry ? [registry] : [],
  });
  let pending = emptyPending();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let failuresInARow = 0;

  const schedule = (delayMs: number) => {
    if (timer || writing || isEmpty(pending)) return;
    timer = setTimeout(() => void writeNow(), delayMs);
    timer.unref();
  };

  const write = async (batch: Pending): Promise<void> => {
    const latest = [...batch.latest].map(([chatId, { seq, at }]) => ({ chatId, seq, at }));
    try {
      await Promise.all([
        repos.chats.recordMessages(latest),
        repos.memberships.recordStoredMessages(latest, [...batch.markers.values()]),
      ]);
      failuresInARow = 0;
    } catch (err) {
      // Kept, with whatever came in meanwhile: the retry writes the highest of both.
      for (const [chatId, activity] of batch.latest) addActivity(pending, chatId, activity);
      for (const marker of batch.markers.values()) addMarker(pending, marker);
      failures.inc();
      failuresInARow += 1;
      logger.warn(
        { err, chats: batch.latest.size, markers: batch.markers.size, failuresInARow },
        'bookkeeping write failed; kept for a retry',
      );
    }
  };

  /**
   * One write at a time: what arrives meanwhile waits for it and goes in the next. A caller that finds a write in
   * flight waits for it, then writes what is left, unless that write failed: then the backoff's retry takes it, and
   * a read does not wait for a second attempt against a store that is failing.
   */
  const writeNow = (): Promise<void> => {
    if (writing) return writing.then(() => (isEmpty(pending) || failuresInARow > 0 ? undefined : writeNow()));
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (isEmpty(pending)) return Promise.resolve();
    const batch = pending;
    pending = emptyPending();
    writing = write(batch).finally(() => {
      writing = undefined;
      schedule(
        failuresInARow === 0 ? windowMs : Math.min(RETRY_FIRST_MS * 2 ** (failuresInARow - 1), RETRY_MAX_MS),
      );
    });
    return writing;
  };

  return {
    record(chatId, stored) {
      const last = stored[stored.length - 1];
      if (!last) return;
      addActivity(pending, chatId, { seq: last.seq, at: new Date(last.createdAt) });
      for (const message of stored)
        addMarker(pending, { chatId, userId: message.senderId, seq: message.seq });
      schedule(windowMs);
    },
    flush: writeNow,
  };
}
