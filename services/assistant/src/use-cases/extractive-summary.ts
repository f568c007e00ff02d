import type { Message } from '@cohort/common';

/** Words of a text, lower-cased, short and very common ones dropped (so scores favour content words). */
const STOP = new Set(
  'a an and are as at be but by for from has have i if in is it its me my no not of on or so that the this to was we were will with you your yes ok okay just'.split(
    ' ',
  ),
);
function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 && !STOP.has(w));
}

export interface ExtractiveOptions {
  /** Messages quoted at most. */
  quotes?: number;
  /** Characters per quote at most. */
  quoteChars?: number;
}

/**
 * "Catch me up" without a model (DESIGN §7): who wrote how much, then the most informative messages quoted in
 * chat order. A message scores by its content words, each weighted by how many unread messages share it (the
 * topics the conversation keeps returning to), normalised by the square root of its word count so neither long
 * rambles nor one-word replies win.
 */
export function extractiveSummary(
  messages: readonly Message[],
  names: Map<string, string>,
  options: ExtractiveOptions = {},
): string {
  const quotes = options.quotes ?? 5;
  const quoteChars = options.quoteChars ?? 280;
  const visible = messages.filter((m) => !m.deletedAt && m.text.trim() !== '');
  if (visible.length === 0) return 'Nothing new to catch up on.';
  const docs = visible.map((m) => words(m.text));
  const df = new Map<string, number>();
  for (const doc of docs) for (const w of new Set(doc)) df.set(w, (df.get(w) ?? 0) + 1);
  const scored = visible.map((message, i) => {
    const distinct = new Set(docs[i]);
    if (distinct.size === 0) return { message, score: 0 };
    let sum = 0;
    // Words the conversation keeps coming back to weigh most (log of their document frequency); every content
    // word still counts a little, so a substantive message beats a one-word reply.
    for (const w of distinct) sum += Math.log(1 + (df.get(w) ?? 1)) + 0.5;
    return { message, score: sum / Math.sqrt(distinct.size) };
  });
  const chosen = [...scored]
    .sort((a, b) => b.score - a.score)
    .slice(0, quotes)
    .sort((a, b) => a.message.seq - b.message.seq);

  const bySender = new Map<string, number>();
  for (const m of visible) bySender.set(m.senderId, (bySender.get(m.senderId) ?? 0) + 1);
  const who = [...bySender.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([id, count]) => `${names.get(id) ?? 'Someone'} (${count})`)
    .join(', ');
  const quote = (m: Message) => {
    const text = m.text.replace(/\s+/g, ' ').trim();
    return `> ${names.get(m.senderId) ?? 'Someone'}: ${text.length > quoteChars ? `${text.slice(0, quoteChars - 1)}…` : text}`;
  };
  return [
    `${visible.length} new message${visible.length === 1 ? '' : 's'} from ${who}. The most informative:`,
    '',
    ...chosen.map((c) => quote(c.message)),
  ].join('\n');
}
