/**
 * Groups calls into batches without a timer. A call leaves on the next turn of the event loop together with
 * every call made in the same turn; while `maxInFlight` batches are already out, calls queue and leave together
 * as soon as one comes back. At low load each call leaves alone and at once; under load batches grow with the
 * backlog, so the per-request cost is paid once per batch rather than once per call.
 */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface BatcherOptions<I, O> {
  maxInFlight: number;
  maxItems: number;
  /** The items of one batch weigh at most this much together (a heavier single item still leaves, alone). */
  maxWeight: number;
  weigh: (item: I) => number;
  /** One outcome per item, in item order. A rejection fails every item of the batch with that error. */
  run: (items: I[]) => Promise<Outcome<O>[]>;
  /**
   * How long an item may wait in the queue: one still waiting after it is failed with `expired()` and never
   * leaves, so no work is asked for an answer its caller has given up on. Unset: items wait as long as it takes.
   */
  maxWait?: { ms: number; expired: () => unknown };
}

export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
}

interface Queued<I, O> {
  item: I;
  weight: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
  /** Fails the item when it has waited `maxWait.ms`; cleared when it leaves. */
  expiry?: NodeJS.Timeout;
}

export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batcher<I, O> {
  const { maxInFlight, maxItems, maxWeight, weigh, run, maxWait } = options;
  const queue: Queued<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const takeBatch = (): Queued<I, O>[] => {
    let weight = 0;
    let count = 0;
    while (count < queue.length && count < maxItems) {
      const next = queue[count]!.weight;
      if (count > 0 && weight + next > maxWeight) break;
      weight += next;
      count += 1;
    }
    const batch = queue.splice(0, count);
    for (const queued of batch) clearTimeout(queued.expiry);
    return batch;
  };

  const expire = (queued: Queued<I, O>, error: unknown): void => {
    // Items expire in the order they came (one budget for all), so the expired one is at or near the head.
    const at = queue.indexOf(queued);
    if (at < 0) return;
    queue.splice(at, 1);
    queued.reject(error);
  };

  const dispatch = (batch: Queued<I, O>[]): void => {
    inFlight += 1;
    const settle = (outcomes: Outcome<O>[]) => {
      batch.forEach((queued, i) => {
        const outcome = outcomes[i];
        if (!outcome) queued.reject(new Error('batch answered fewer outcomes than items'));
        else if (outcome.ok) queued.resolve(outcome.value);
        else queued.reject(outcome.error);
      });
    };
    const fail = (error: unknown) => batch.forEach((queued) => queued.reject(error));
    let running: Promise<Outcome<O>[]>;
    try {
      running = run(batch.map((q) => q.item));
    } catch (error) {
      running = Promise.reject(error);
    }
    void running.then(settle, fail).finally(() => {
      inFlight -= 1;
      flush();
    });
  };

  function flush(): void {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) dispatch(takeBatch());
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        const queued: Queued<I, O> = { item, weight: weigh(item), resolve, reject };
        if (maxWait) queued.expiry = setTimeout(() => expire(queued, maxWait.expired()), maxWait.ms);
        queue.push(queued);
        if (!scheduled && inFlight < maxInFlight) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
