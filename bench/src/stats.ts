/** A growable list of samples (milliseconds) with nearest-rank percentiles. */
export class Samples {
  private values = new Float64Array(1024);
  private size = 0;
  private sorted = true;

  add(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size] = value;
    this.size += 1;
    this.sorted = false;
  }

  get count(): number {
    return this.size;
  }

  /** Nearest-rank percentile (p in 0..100); NaN with no samples. */
  percentile(p: number): number {
    if (this.size === 0) return Number.NaN;
    if (!this.sorted) {
      this.values.subarray(0, this.size).sort();
      this.sorted = true;
    }
    const rank = Math.min(this.size, Math.max(1, Math.ceil((p / 100) * this.size)));
    return this.values[rank - 1]!;
  }

  max(): number {
    return this.percentile(100);
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(samples: Samples): LatencySummary {
  return {
    count: samples.count,
    p50: round(samples.percentile(50)),
    p95: round(samples.percentile(95)),
    p99: round(samples.percentile(99)),
    max: round(samples.max()),
  };
}

/** Rounds to `digits` decimals (NaN and infinities pass through). */
export function round(n: number, digits = 1): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** a / b, rounded; NaN when b is 0 or either is not a number. */
export function ratio(a: number, b: number, digits = 2): number {
  // A baseline at or below zero (an idle-CPU difference within noise, say) has no meaningful ratio, and nor has a
  // figure below zero: a CPU difference cannot be negative except by noise, and its "ratio" would pass any `≤` target.
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0 || a < 0) return Number.NaN;
  return round(a / b, digits);
}

/** Repetitions of one figure: their median and range (NaN values, from failed repetitions, are left out). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spread(values: number[], digits = 2): Spread {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values };
  const mid = finite.length / 2;
  const median = finite.length % 2 === 1 ? finite[Math.floor(mid)]! : (finite[mid - 1]! + finite[mid]!) / 2;
  return {
    median: round(median, digits),
    min: round(finite[0]!, digits),
    max: round(finite[finite.length - 1]!, digits),
    values: values.map((v) => round(v, digits)),
  };
}

/** Repetition r's order of the stacks: as given in even repetitions, reversed in odd ones (full, bare / bare, full). */
export function alternate<T>(r: number, items: readonly T[]): T[] {
  return r % 2 === 0 ? [...items] : [...items].reverse();
}
