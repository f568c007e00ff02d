/**
 * The documents holding one term: record ids in ascending order with the term's score in each,
 * in typed arrays (12 bytes a posting; a million messages hold several million postings).
 */
export class Postings {
  private rids = new Int32Array(4);
  private scores = new Float64Array(4);
  private n = 0;

  get size(): number {
    return this.n;
  }

  private find(rid: number): number {
    let lo = 0;
    let hi = this.n - 1;
    const rids = this.rids;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = rids[mid] as number;
      if (v < rid) lo = mid + 1;
      else if (v > rid) hi = mid - 1;
      else return mid;
    }
    return -(lo + 1);
  }

  private grow(): void {
    const cap = this.rids.length * 2;
    const rids = new Int32Array(cap);
    rids.set(this.rids);
    const scores = new Float64Array(cap);
    scores.set(this.scores);
    this.rids = rids;
    this.scores = scores;
  }

  /** Sets the score of `rid` (new record ids, the usual case, append). */
  set(rid: number, score: number): void {
    if (this.n > 0 && (this.rids[this.n - 1] as number) >= rid) {
      const at = this.find(rid);
      if (at >= 0) {
        this.scores[at] = score;
        return;
      }
      const pos = -at - 1;
      if (this.n === this.rids.length) this.grow();
      this.rids.copyWithin(pos + 1, pos, this.n);
      this.scores.copyWithin(pos + 1, pos, this.n);
      this.rids[pos] = rid;
      this.scores[pos] = score;
      this.n++;
      return;
    }
    if (this.n === this.rids.length) this.grow();
    this.rids[this.n] = rid;
    this.scores[this.n] = score;
    this.n++;
  }

  delete(rid: number): void {
    const at = this.find(rid);
    if (at < 0) return;
    this.rids.copyWithin(at, at + 1, this.n);
    this.scores.copyWithin(at, at + 1, this.n);
    this.n--;
  }

  /** The score of `rid`, 0 when it does not hold the term. */
  score(rid: number): number {
    const at = this.find(rid);
    return at >= 0 ? (this.scores[at] as number) : 0;
  }

  /** The postings' arrays (valid until the next change; read synchronously). */
  view(): { rids: Int32Array; scores: Float64Array; size: number } {
    return { rids: this.rids, scores: this.scores, size: this.n };
  }

  /** Calls `fn` for every posting, in record id order. */
  forEach(fn: (rid: number, score: number) => void): void {
    const { rids, scores, n } = this;
    for (let i = 0; i < n; i++) fn(rids[i] as number, scores[i] as number);
  }
}
