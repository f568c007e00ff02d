import { LRUCache } from 'lru-cache';
import type { ChatEvent, Message, ReactionSummary } from '@cohort/common';
import { storedMessageSchema } from '../clients/stored-message';

/**
 * The recent messages of chats this replica serves, kept current by the bus, so a `chat:sync` (a reconnect's
 * catch-up) is answered here instead of by chat-api (services/realtime/README.md, "A catch-up is answered by the
 * replica when it can"). In a reconnect storm the sockets of one chat ask for the same page within seconds of each
 * other: chat-api reads it once per replica instead of once per socket.
 *
 * An entry is a run of consecutive seqs, `from` to `to`, as chat-api stored them, with every later write the bus
 * brought (edits, deletes, reactions: the higher `version` / `reactionsVersion` wins, whatever order they arrive
 * in). It is `complete` when nothing after `to` exists, as far as the bus has told: the page chat-api answered was
 * not full. Only chat-api starts an entry (the first sync of a chat here asks it); the bus only extends one: a
 * `chat:new` alone cannot tell that no later message exists (chat-api replicas may publish out of seq order).
 *
 * Why an answer from here loses nothing: the socket asking is in the chat's room before it asks, so a message whose
 * bus event has not reached this replica yet reaches the socket live, and one whose event has was applied here in
 * the same turn it was delivered to the room.
 *
 * What is not trusted:
 * - a seq the bus skipped (a `chat:new` past `to + 1` in a complete entry, a write to a message it never brought):
 *   the entry is dropped; so is one a message not shaped as chat-api answers it reached (no `version`, say);
 * - everything, while the bus is not receiving, and everything from before its subscriber reconnected (the
 *   generation changed): an event may have been missed meanwhile;
 * - a page chat-api answered while an event of its chat arrived: whether the page has that write is unknown;
 * - any entry older than `ttlMs`: the bound on a write whose publish chat-api failed to hand to Redis (logged
 *   there), which no later event reveals.
 */
export interface RecentMessages {
  /** The page `chat:sync {afterSeq, limit}` gets, when what is kept here answers it; undefined otherwise. */
  page(chatId: string, afterSeq: number, limit: number): Message[] | undefined;
  /** Taken before asking chat-api for a page of `chatId`; `seed` needs it, `release` ends it. */
  mark(chatId: string): SeedMark;
  /** Keeps the page chat-api answered after `mark` (for `afterSeq`, at most `limit` messages) when it may. */
  seed(mark: SeedMark, afterSeq: number, limit: number, messages: readonly Message[]): void;
  release(mark: SeedMark): void;
  /** Settles when no page of `chatId` is being asked for any more; undefined when none is. */
  asking(chatId: string): Promise<void> | undefined;
  /** A bus event of a chat: brought into its entry, if it has one. */
  apply(event: RecentMessagesEvent): void;
}

/** The bus events that write a message (chat-api publishes them after the write is committed). */
export type RecentMessagesEvent = Extract<
  ChatEvent,
  { type: 'chat:new' | 'chat:updated' | 'chat:deleted' | 'chat:reactions' }
>;

/** What the entries need to know about the bus that keeps them current (the runtime's). */
export interface RecentMessagesFeed {
  receiving(): boolean;
  /** Changes whenever the bus may have missed a message. */
  generation(): number;
}

export interface RecentMessagesOptions {
  /** Bound on what is kept (an estimate of the messages' size); 0 keeps nothing. */
  maxBytes: number;
  /** Longest an entry is trusted without chat-api; 0 keeps nothing. */
  ttlMs: number;
  /** Without one (the in-process bus): always receiving, never a gap. */
  feed?: RecentMessagesFeed;
  /** Messages one entry keeps at most (the oldest go first). */
  maxPerChat?: number;
}

export interface SeedMark {
  readonly chatId: string;
  readonly generation: number;
  readonly asking: Asking;
}

interface Asking {
  count: number;
  /** An event of the chat arrived while a page was being asked for. */
  written: boolean;
  settled: Promise<void>;
  settle: () => void;
}

interface Entry {
  readonly generation: number;
  /** The seq of `messages[0]`; `messages` holds `from`, `from + 1`, … without a gap. */
  readonly from: number;
  readonly messages: Message[];
  readonly complete: boolean;
  readonly bytes: number;
}

const ALWAYS_RECEIVING: RecentMessagesFeed = { receiving: () => true, generation: () => 0 };

/** A message's share of `maxBytes`: its text (UTF-16) and a fixed part for ids, dates and lists. */
function weigh(message: Message): number {
  return (
    400 + 2 * message.text.length + 48 * ((message.mentions?.length ?? 0) + (message.reactions?.length ?? 0))
  );
}

const sizeOf = (messages: readonly Message[]) => messages.reduce((sum, m) => sum + weigh(m), 0);

/** `next` over `kept` when it is a later write; reactions stay from whichever has the later summary. */
function merge(kept: Message, next: Message): Message {
  if (next.version <= kept.version) return kept;
  if ((kept.reactionsVersion ?? 0) <= (next.reactionsVersion ?? 0)) return next;
  const { reactions: _reactions, reactionsVersion: _reactionsVersion, ...rest } = next;
  return {
    ...rest,
    ...(kept.reactions ? { reactions: kept.reactions } : {}),
    ...(kept.reactionsVersion !== undefined ? { reactionsVersion: kept.reactionsVersion } : {}),
  };
}

const OFF: RecentMessages = {
  page: () => undefined,
  mark: (chatId) => ({ chatId, generation: 0, asking: settledAsking() }),
  seed: () => undefined,
  release: () => undefined,
  asking: () => undefined,
  apply: () => undefined,
};

function settledAsking(): Asking {
  return { count: 0, written: false, settled: Promise.resolve(), settle: () => undefined };
}

export function createRecentMessages({
  maxBytes,
  ttlMs,
  feed = ALWAYS_RECEIVING,
  maxPerChat = 200,
}: RecentMessagesOptions): RecentMessages {
  if (maxBytes <= 0 || ttlMs <= 0) return OFF;
  const entries = new LRUCache<string, Entry>({
    maxSize: maxBytes,
    sizeCalculation: (entry) => Math.max(1, entry.bytes),
    ttl: ttlMs,
    // An entry's age is its age since chat-api answered its page, not since its last write.
    noUpdateTTL: true,
  });
  const askingFor = new Map<string, Asking>();

  /** The entry of `chatId`, when it can be trusted now. */
  function trusted(chatId: string): Entry | undefined {
    const entry = entries.get(chatId);
    if (!entry) return undefined;
    if (entry.generation !== feed.generation()) {
      entries.delete(chatId);
      return undefined;
    }
    return entry;
  }

  function keep(chatId: string, entry: Omit<Entry, 'bytes'>, bytes = sizeOf(entry.messages)): void {
    let { from, messages } = entry;
    let size = bytes;
    if (messages.length > maxPerChat) {
      const dropped = messages.slice(0, messages.length - maxPerChat);
      messages = messages.slice(dropped.length);
      from += dropped.length;
      size -= sizeOf(dropped);
    }
    if (size > maxBytes) {
      entries.delete(chatId);
      return;
    }
    entries.set(chatId, { ...entry, from, messages, bytes: size });
  }

  function write(chatId: string, message: Message, isNew: boolean): void {
    const entry = trusted(chatId);
    if (!entry) return;
    if (!storedMessageSchema.safeParse(message).success) {
      // Not a message as chat-api answers it (a publisher predating `version`, say): nothing here is kept.
      entries.delete(chatId);
      return;
    }
    const to = entry.from + entry.messages.length - 1;
    if (message.seq < entry.from) return;
    if (message.seq <= to) {
      const at = message.seq - entry.from;
      const kept = entry.messages[at]!;
      if (kept.id !== message.id) {
        // Two messages with one seq: something is wrong with what is kept here.
        entries.delete(chatId);
        return;
      }
      const merged = merge(kept, message);
      if (merged === kept) return;
      const messages = entry.messages.slice();
      messages[at] = merged;
      keep(chatId, { ...entry, messages }, entry.bytes - weigh(kept) + weigh(merged));
      return;
    }
    if (isNew && message.seq === to + 1) {
      keep(chatId, { ...entry, messages: [...entry.messages, message] }, entry.bytes + weigh(message));
      return;
    }
    // A message past what is kept: in a complete entry, the bus skipped what came between.
    if (entry.complete) entries.delete(chatId);
  }

  function react(chatId: string, messageId: string, reactions: ReactionSummary[], version: number): void {
    const entry = trusted(chatId);
    if (!entry) return;
    const at = entry.messages.findIndex((m) => m.id === messageId);
    if (at < 0) return;
    const kept = entry.messages[at]!;
    if ((kept.reactionsVersion ?? 0) >= version) return;
    const { reactions: _old, ...rest } = kept;
    const next: Message = {
      ...rest,
      ...(reactions.length > 0 ? { reactions } : {}),
      reactionsVersion: version,
    };
    const messages = entry.messages.slice();
    messages[at] = next;
    keep(chatId, { ...entry, messages }, entry.bytes - weigh(kept) + weigh(next));
  }

  return {
    page(chatId, afterSeq, limit) {
      if (!feed.receiving()) return undefined;
      const entry = trusted(chatId);
      if (!entry || afterSeq + 1 < entry.from) return undefined;
      const to = entry.from + entry.messages.length - 1;
      if (!entry.complete && afterSeq + limit > to) return undefined;
      const start = afterSeq + 1 - entry.from;
      return entry.messages.slice(start, start + limit);
    },

    mark(chatId) {
      let asking = askingFor.get(chatId);
      if (!asking) {
        let settle = () => undefined as void;
        const settled = new Promise<void>((resolve) => (settle = resolve));
        asking = { count: 0, written: false, settled, settle };
        askingFor.set(chatId, asking);
      }
      asking.count += 1;
      return { chatId, generation: feed.generation(), asking };
    },

    seed({ chatId, generation, asking }, afterSeq, limit, messages) {
      if (asking.written || generation !== feed.generation() || !feed.receiving()) return;
      // Only a run without a gap, in order, from afterSeq + 1, is kept (the client checked each message's shape).
      for (let i = 0; i < messages.length; i += 1) {
        const m = messages[i]!;
        if (m.seq !== afterSeq + 1 + i) return;
      }
      keep(chatId, {
        generation,
        from: afterSeq + 1,
        messages: [...messages],
        complete: messages.length < limit,
      });
    },

    release(mark) {
      const { asking } = mark;
      asking.count -= 1;
      if (asking.count > 0) return;
      if (askingFor.get(mark.chatId) === asking) askingFor.delete(mark.chatId);
      asking.settle();
    },

    asking: (chatId) => askingFor.get(chatId)?.settled,

    apply(event) {
      const asking = askingFor.get(event.chatId);
      if (asking) asking.written = true;
      if (!entries.has(event.chatId)) return;
      try {
        if (event.type === 'chat:reactions') {
          react(event.chatId, event.messageId, event.reactions, event.reactionsVersion);
        } else {
          write(event.chatId, event.message, event.type === 'chat:new');
        }
      } catch {
        // An event this could not bring in (malformed): the entry no longer says what the store has.
        entries.delete(event.chatId);
      }
    },
  };
}
