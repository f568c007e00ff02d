import type { Postings } from './postings';

/** Records found for a `$text` query with their summed scores, in parallel typed arrays. */
export class Candidates {
  rids: Int32Array;
  scores: Float64Array;
  length = 0;

  constructor(capacity = 64) {
    this.rids = new Int32Array(Math.max(capacity, 1));
    this.scores = new Float64Array(Math.max(capacity, 1));
  }

  push(rid: number, score: number): void {
    if (this.length === this.rids.length) {
      const rids = new Int32Array(this.length * 2);
      rids.set(this.rids);
      const scores = new Float64Array(this.length * 2);
      scores.set(this.scores);
      this.rids = rids;
      this.scores = scores;
    }
    this.rids[this.length] = rid;
    this.scores[this.length] = score;
    this.length++;
  }
}

/**
 * Sums each record's scores over the query's terms: a merge of the postings (each in record id
 * order), so a record holding several of the terms is met once, with no hash map.
 */
export function mergePostings(lists: readonly Postings[]): Candidates {
  const views = lists.map((l) => l.view());
  const total = views.reduce((n, v) => n + v.size, 0);
  const out = new Candidates(total);
  if (views.length === 1) {
    const v = views[0] as { rids: Int32Array; scores: Float64Array; size: number };
    out.rids.set(v.rids.subarray(0, v.size));
    out.scores.set(v.scores.subarray(0, v.size));
    out.length = v.size;
    return out;
  }
  const pos = new Array<number>(views.length).fill(0);
  for (;;) {
    let min = Infinity;
    for (let i = 0; i < views.length; i++) {
      const v = views[i] as { rids: Int32Array; size: number };
      const p = pos[i] as number;
      if (p < v.size && (v.rids[p] as number) < min) min = v.rids[p] as number;
    }
    if (min === Infinity) return out;
    let score = 0;
    for (let i = 0; i < views.length; i++) {
      const v = views[i] as { rids: Int32Array; scores: Float64Array; size: number };
      const p = pos[i] as number;
      if (p < v.size && v.rids[p] === min) {
        score += v.scores[p] as number;
        pos[i] = p + 1;
      }
    }
    out.push(min, score);
  }
}

/** Positions in record order. */
export function* inOrder(c: Candidates): Generator<number> {
  for (let i = 0; i < c.length; i++) yield i;
}

/**
 * Positions best score first (ties by record id), produced lazily: a binary heap is built in O(n)
 * and each pull costs O(log n), so matching can stop after the few best.
 */
export function* bestFirst(c: Candidates): Generator<number> {
  const { rids, scores } = c;
  const before = (a: number, b: number): boolean =>
    (scores[a] as number) > (scores[b] as number) ||
    ((scores[a] as number) === (scores[b] as number) && (rids[a] as number) < (rids[b] as number));
  const heap = new Int32Array(c.length);
  for (let i = 0; i < c.length; i++) heap[i] = i;
  let size = c.length;
  const down = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && before(heap[l] as number, heap[m] as number)) m = l;
      if (r < size && before(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      const t = heap[i] as number;
      heap[i] = heap[m] as number;
      heap[m] = t;
      i = m;
    }
  };
  for (let i = (size >> 1) - 1; i >= 0; i--) down(i);
  while (size > 0) {
    const top = heap[0] as number;
    size--;
    heap[0] = heap[size] as number;
    down(0);
    yield top;
  }
}
