import type { Message, MessageAi, ReactionSummary } from '../contract';

/**
 * A message as the conversation shows it: either stored (`status: 'sent'`, with id and seq) or still
 * travelling (`pending`) or refused/lost (`failed`, retried with the same clientMsgId, which the server
 * treats idempotently). Pure functions only: this module is what keeps every message shown exactly once.
 */
export type MessageStatus = 'sent' | 'pending' | 'failed';

export interface UiMessage {
  /** Stable React key: the clientMsgId survives the pending → sent transition. */
  key: string;
  id: string | null;
  seq: number | null;
  chatId: string;
  senderId: string;
  text: string;
  clientMsgId: string;
  createdAt: string;
  editedAt?: string;
  deletedAt?: string;
  /** The stored copy's version (absent while pending): 1 when stored, +1 per edit and on the delete. */
  version?: number;
  status: MessageStatus;
  error?: string;
  /** The message this one answers (same chat). */
  replyTo?: string;
  /** Users mentioned. */
  mentions?: readonly string[];
  reactions?: readonly ReactionSummary[];
  /** The reactions' version: a summary with a higher one replaces ours, never a lower one. */
  reactionsVersion?: number;
  /** On the assistant's stored answers. */
  ai?: MessageAi;
}

function messageKey(senderId: string, clientMsgId: string): string {
  return `${senderId}:${clientMsgId}`;
}

function fromServer(m: Message): UiMessage {
  return {
    key: messageKey(m.senderId, m.clientMsgId || m.id),
    id: m.id,
    seq: m.seq,
    chatId: m.chatId,
    senderId: m.senderId,
    text: m.text,
    clientMsgId: m.clientMsgId,
    createdAt: m.createdAt,
    ...(m.editedAt ? { editedAt: m.editedAt } : {}),
    ...(m.deletedAt ? { deletedAt: m.deletedAt } : {}),
    ...(m.version !== undefined ? { version: m.version } : {}),
    ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    ...(m.mentions && m.mentions.length > 0 ? { mentions: m.mentions } : {}),
    ...(m.reactions && m.reactions.length > 0 ? { reactions: m.reactions } : {}),
    ...(m.reactionsVersion !== undefined ? { reactionsVersion: m.reactionsVersion } : {}),
    ...(m.ai ? { ai: m.ai } : {}),
    status: 'sent',
  };
}

export function makePending(input: {
  chatId: string;
  senderId: string;
  text: string;
  clientMsgId: string;
  now: Date;
  replyTo?: string | undefined;
  mentions?: readonly string[] | undefined;
}): UiMessage {
  return {
    ...(input.replyTo ? { replyTo: input.replyTo } : {}),
    ...(input.mentions && input.mentions.length > 0 ? { mentions: input.mentions } : {}),
    key: messageKey(input.senderId, input.clientMsgId),
    id: null,
    seq: null,
    chatId: input.chatId,
    senderId: input.senderId,
    text: input.text,
    clientMsgId: input.clientMsgId,
    createdAt: input.now.toISOString(),
    status: 'pending',
  };
}

/** Which of two versions of the same stored message is the later one: a delete is final, then the latest edit wins. */
function newerText(current: UiMessage, incoming: Message): UiMessage {
  if (current.status !== 'sent') return fromServer(incoming);
  // The server's version decides when both copies carry one (docs/security.md): two edits within the same
  // millisecond have the same editedAt, never the same version.
  if (
    current.version !== undefined &&
    incoming.version !== undefined &&
    current.version !== incoming.version
  ) {
    return incoming.version > current.version ? { ...fromServer(incoming), key: current.key } : current;
  }
  if (current.deletedAt && !incoming.deletedAt) return current;
  if (!current.deletedAt && incoming.deletedAt) return fromServer(incoming);
  if (current.editedAt && (!incoming.editedAt || incoming.editedAt < current.editedAt)) return current;
  if (
    current.id === incoming.id &&
    current.text === incoming.text &&
    current.editedAt === incoming.editedAt &&
    current.deletedAt === incoming.deletedAt
  ) {
    return current;
  }
  const next = fromServer(incoming);
  // Keep the React key so a row never remounts when its server copy arrives.
  return { ...next, key: current.key };
}

/**
 * Reactions travel apart from edits (`chat:reactions`, versioned by `reactionsVersion`): of the two copies, the
 * summary with the higher reactionsVersion is kept, whichever copy's text wins.
 */
export function withLaterReactions(
  kept: UiMessage,
  other: { reactions?: readonly ReactionSummary[] | undefined; reactionsVersion?: number | undefined },
): UiMessage {
  const mine = kept.reactionsVersion ?? 0;
  const theirs = other.reactionsVersion ?? 0;
  if (theirs <= mine) return kept;
  const { reactions: _old, ...rest } = kept;
  return {
    ...rest,
    reactionsVersion: theirs,
    ...(other.reactions && other.reactions.length > 0 ? { reactions: other.reactions } : {}),
  };
}

function newer(current: UiMessage, incoming: Message): UiMessage {
  const text = newerText(current, incoming);
  // Whichever text won, the later reactions stay; the same object back when nothing changed.
  const merged = withLaterReactions(text, text === current ? incoming : current);
  return merged;
}

/** Applies a `chat:reactions` summary to a message in the list (ignored when older than what we hold). */
export function applyReactions(
  list: readonly UiMessage[],
  messageId: string,
  reactions: readonly ReactionSummary[],
  reactionsVersion: number,
): readonly UiMessage[] {
  const i = list.findIndex((item) => item.id === messageId);
  if (i === -1) return list;
  const replacement = withLaterReactions(list[i]!, { reactions, reactionsVersion });
  if (replacement === list[i]) return list;
  const copy = [...list];
  copy[i] = replacement;
  return copy;
}

function findIndex(list: readonly UiMessage[], m: Message): number {
  let bySeq = -1;
  let byClientId = -1;
  for (let i = 0; i < list.length; i++) {
    const item = list[i]!;
    if (item.id !== null && item.id === m.id) return i;
    if (item.seq !== null && item.seq === m.seq) bySeq = i;
    if (
      byClientId === -1 &&
      item.status !== 'sent' &&
      item.clientMsgId === m.clientMsgId &&
      item.senderId === m.senderId
    ) {
      byClientId = i;
    }
  }
  return bySeq !== -1 ? bySeq : byClientId;
}

/** Stored messages in seq order, then the ones still travelling in the order they were written. */
function ordered(list: UiMessage[]): UiMessage[] {
  const sent = list.filter((m) => m.status === 'sent').sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const local = list.filter((m) => m.status !== 'sent');
  return local.length === 0 ? sent : [...sent, ...local];
}

/**
 * Merges stored messages (from history, `chat:new`, `chat:sync`, an ack or a REST reply) into a list.
 * Duplicates are recognised by id, by seq, and a pending message by its clientMsgId; the result is
 * ordered by seq with local messages last. Returns the same array when nothing changed.
 */
export function mergeMessages(
  list: readonly UiMessage[],
  incoming: readonly Message[],
): readonly UiMessage[] {
  if (incoming.length === 0) return list;
  let next: UiMessage[] | null = null;
  for (const m of incoming) {
    const work: readonly UiMessage[] = next ?? list;
    const i = findIndex(work, m);
    if (i === -1) {
      next = [...work, fromServer(m)];
      continue;
    }
    const current = work[i]!;
    const replacement = newer(current, m);
    if (replacement === current) continue;
    const copy = next ?? [...list];
    copy[i] = replacement;
    next = copy;
  }
  return next ? ordered(next) : list;
}

/** Applies an edit or delete to a message already in the list; messages outside the loaded window are ignored. */
export function applyChange(list: readonly UiMessage[], m: Message): readonly UiMessage[] {
  const i = list.findIndex((item) => item.id === m.id);
  if (i === -1) return list;
  const replacement = newer(list[i]!, m);
  if (replacement === list[i]) return list;
  const copy = [...list];
  copy[i] = replacement;
  return copy;
}

export function addPending(list: readonly UiMessage[], pending: UiMessage): readonly UiMessage[] {
  if (list.some((m) => m.clientMsgId === pending.clientMsgId && m.senderId === pending.senderId)) return list;
  return [...list, pending];
}

export function setLocalStatus(
  list: readonly UiMessage[],
  clientMsgId: string,
  status: 'pending' | 'failed',
  error?: string,
): readonly UiMessage[] {
  const i = list.findIndex((m) => m.clientMsgId === clientMsgId && m.status !== 'sent');
  if (i === -1) return list;
  const copy = [...list];
  const { error: _previous, ...rest } = copy[i]!;
  copy[i] = error === undefined ? { ...rest, status } : { ...rest, status, error };
  return copy;
}

export function removeLocal(list: readonly UiMessage[], clientMsgId: string): readonly UiMessage[] {
  const next = list.filter((m) => !(m.clientMsgId === clientMsgId && m.status !== 'sent'));
  return next.length === list.length ? list : next;
}

/** Highest stored seq in the list (0 when none): the cursor for `chat:sync` and `?after=`. */
export function newestSeq(list: readonly UiMessage[]): number {
  let max = 0;
  for (const m of list) if (m.seq !== null && m.seq > max) max = m.seq;
  return max;
}

/** Lowest stored seq in the list (null when none): the cursor for `?before=`. */
export function oldestSeq(list: readonly UiMessage[]): number | null {
  let min: number | null = null;
  for (const m of list) if (m.seq !== null && (min === null || m.seq < min)) min = m.seq;
  return min;
}

/** True when `incoming` starts above the next expected seq, i.e. something was missed in between. */
export function hasGap(list: readonly UiMessage[], incoming: readonly Message[]): boolean {
  const newest = newestSeq(list);
  if (newest === 0) return false;
  const lowest = Math.min(...incoming.map((m) => m.seq));
  return lowest > newest + 1;
}
