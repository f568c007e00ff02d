/** Where `@Name` mentions sit in a piece of text, for highlighting (pure: used by the Markdown renderer and tests). */

/** The handle that calls the assistant in text (libs/common `ASSISTANT_HANDLE`; checked by contract.test.ts). */
export const ASSISTANT_HANDLE = 'cohortgpt';

export interface MentionLabel {
  /** What follows the `@`: a member's full name or first name, or the assistant's handle. */
  label: string;
  /** The mention is of the person reading (shown more strongly). */
  self: boolean;
}

export type TextSegment = { kind: 'text'; text: string } | { kind: 'mention'; text: string; self: boolean };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Splits `text` into plain runs and mentions. A mention is `@` + one of the labels (longest first, any case)
 * at the start or after a character that is not a letter, digit, `_` or `@`, and not followed by a letter or
 * digit: the same word rule the server uses for `@cohortgpt`. `@cohortgpt` is always recognised.
 */
export function splitMentions(text: string, labels: readonly MentionLabel[]): TextSegment[] {
  const all = [...labels.filter((l) => l.label.trim() !== ''), { label: ASSISTANT_HANDLE, self: false }];
  if (!text.includes('@')) return [{ kind: 'text', text }];
  const sorted = [...all].sort((a, b) => b.label.length - a.label.length);
  const pattern = new RegExp(
    `(^|[^\\p{L}\\p{N}_@])@(${sorted.map((l) => escapeRegExp(l.label)).join('|')})(?![\\p{L}\\p{N}_])`,
    'giu',
  );
  const segments: TextSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const start = (match.index ?? 0) + (match[1]?.length ?? 0);
    const name = match[2] ?? '';
    const found = sorted.find((l) => l.label.toLowerCase() === name.toLowerCase());
    if (start > last) segments.push({ kind: 'text', text: text.slice(last, start) });
    segments.push({ kind: 'mention', text: `@${name}`, self: found?.self ?? false });
    last = start + 1 + name.length;
  }
  if (last < text.length) segments.push({ kind: 'text', text: text.slice(last) });
  return segments.length > 0 ? segments : [{ kind: 'text', text }];
}

/** The `@query` being typed just before the caret, if any (for completion): where it starts and what it says. */
export function mentionQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at === -1) return null;
  if (at > 0 && /[\p{L}\p{N}_@]/u.test(before[at - 1]!)) return null;
  const query = before.slice(at + 1);
  // A name has at most one space in it (first and last name); a line break ends the query.
  if (query.length > 40 || /\n/.test(query) || (query.match(/ /g)?.length ?? 0) > 1) return null;
  return { start: at, query };
}

export interface MentionCandidate {
  /** The user id sent in `mentions`. */
  id: string;
  /** What is inserted after the `@`. */
  label: string;
}

/** Members whose name starts with the query (any word of it, any case), best first, at most `limit`. */
export function completeMention(
  query: string,
  candidates: readonly MentionCandidate[],
  limit = 6,
): MentionCandidate[] {
  const q = query.trim().toLowerCase();
  const scored: { c: MentionCandidate; score: number }[] = [];
  for (const c of candidates) {
    const label = c.label.toLowerCase();
    if (q === '' || label.startsWith(q)) scored.push({ c, score: 0 });
    else if (label.split(/\s+/).some((word) => word.startsWith(q))) scored.push({ c, score: 1 });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.c.label.localeCompare(b.c.label))
    .slice(0, limit)
    .map((s) => s.c);
}

/**
 * The user ids to send as `mentions`: the picked candidates whose `@label` is still in the text (the writer may
 * have deleted one after picking it), each once, at most 50 (the server's bound).
 */
export function mentionsInText(text: string, picked: readonly MentionCandidate[]): string[] {
  const ids: string[] = [];
  for (const c of picked) {
    if (ids.includes(c.id)) continue;
    const found = splitMentions(text, [{ label: c.label, self: false }]).some(
      (s) => s.kind === 'mention' && s.text.slice(1).toLowerCase() === c.label.toLowerCase(),
    );
    if (found) ids.push(c.id);
  }
  return ids.slice(0, 50);
}
