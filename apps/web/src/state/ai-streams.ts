/**
 * An assistant answer as it streams (DESIGN §7 `ai:delta`): deltas are kept by index, each index once, and the text
 * shown is the run without holes from index 0. A hole (a delta lost, or a stream first seen mid-way, e.g. after a
 * reload) asks for `ai:resume` from the last index held. Pure functions: the reducer and the tests use them.
 */
export interface AiStream {
  chatId: string;
  streamId: string;
  /** The question (triggering message id); null until a delta says. */
  replyTo: string | null;
  /** Deltas received beyond the contiguous run, by index (waiting for a hole to fill). */
  ahead: Readonly<Record<number, string>>;
  /** How many deltas from index 0 are held without a hole: the next index expected. */
  next: number;
  /** The contiguous text (deltas 0 … next−1). */
  text: string;
  /** The server said the stream ended (a resume's `ended`): the stored answer follows as `chat:new`. */
  ended: boolean;
  /** I asked to stop it. */
  stopping: boolean;
}

export interface DeltaInput {
  index: number;
  delta: string;
}

export function newStream(chatId: string, streamId: string, replyTo: string | null): AiStream {
  return { chatId, streamId, replyTo, ahead: {}, next: 0, text: '', ended: false, stopping: false };
}

/** Adds deltas in any order and any number of times; returns the same object when nothing was new. */
export function addDeltas(stream: AiStream, deltas: readonly DeltaInput[], ended = false): AiStream {
  let ahead: Record<number, string> | null = null;
  for (const d of deltas) {
    if (!Number.isInteger(d.index) || d.index < stream.next) continue; // already in the text
    const held = ahead ?? stream.ahead;
    if (d.index in held) continue; // duplicate
    ahead ??= { ...stream.ahead };
    ahead[d.index] = d.delta;
  }
  if (!ahead) return ended && !stream.ended ? { ...stream, ended: true } : stream;
  let next = stream.next;
  let text = stream.text;
  while (next in ahead) {
    text += ahead[next];
    delete ahead[next];
    next += 1;
  }
  return { ...stream, ahead, next, text, ended: stream.ended || ended };
}

/** There are deltas held past a hole: something was missed. */
export function hasHole(stream: AiStream): boolean {
  return Object.keys(stream.ahead).length > 0;
}

/** The `afterIndex` to resume from: the last index held without a hole (−1: from the start). */
export function resumeAfter(stream: AiStream): number {
  return stream.next - 1;
}
