import { createBatcher, type Outcome } from '../src/batcher';

/** A batcher whose runs are recorded and settled by the test. */
function recordingBatcher(
  options: { maxInFlight?: number; maxItems?: number; maxWeight?: number; maxWaitMs?: number } = {},
) {
  const runs: {
    items: string[];
    settle: (outcomes: Outcome<string>[]) => void;
    fail: (e: unknown) => void;
  }[] = [];
  const batcher = createBatcher<string, string>({
    maxInFlight: options.maxInFlight ?? 2,
    maxItems: options.maxItems ?? 100,
    maxWeight: options.maxWeight ?? 1000,
    weigh: (item) => item.length,
    maxWait:
      options.maxWaitMs === undefined
        ? undefined
        : { ms: options.maxWaitMs, expired: () => new Error('waited too long') },
    run: (items) =>
      new Promise((resolve, reject) => {
        runs.push({ items, settle: resolve, fail: reject });
      }),
  });
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const echo = (items: string[]): Outcome<string>[] => items.map((i) => ({ ok: true, value: `${i}!` }));
  return { batcher, runs, turn, echo };
}

describe('batcher', () => {
  test('calls made in the same turn leave together, each gets its own outcome', async () => {
    const { batcher, runs, turn, echo } = recordingBatcher();
    const answers = ['a', 'b', 'c'].map((x) => batcher.submit(x));
    await turn();
    expect(runs.map((r) => r.items)).toEqual([['a', 'b', 'c']]);
    runs[0]!.settle(echo(runs[0]!.items));
    await expect(Promise.all(answers)).resolves.toEqual(['a!', 'b!', 'c!']);
  });

  test('with maxInFlight batches out, calls wait and leave together when one comes back', async () => {
    const { batcher, runs, turn, echo } = recordingBatcher({ maxInFlight: 1 });
    const first = batcher.submit('a');
    await turn();
    const later = ['b', 'c', 'd'].map((x) => batcher.submit(x));
    await turn();
    expect(runs).toHaveLength(1);
    runs[0]!.settle(echo(runs[0]!.items));
    await expect(first).resolves.toBe('a!');
    await turn();
    expect(runs.map((r) => r.items)).toEqual([['a'], ['b', 'c', 'd']]);
    runs[1]!.settle(echo(runs[1]!.items));
    await expect(Promise.all(later)).resolves.toEqual(['b!', 'c!', 'd!']);
  });

  test('a batch holds at most maxItems and maxWeight; a heavier single item still leaves alone', async () => {
    const { batcher, runs, turn } = recordingBatcher({ maxInFlight: 10, maxItems: 2, maxWeight: 5 });
    for (const x of ['a', 'b', 'c', 'dddd', 'eeeeeeee', 'f']) void batcher.submit(x).catch(() => undefined);
    await turn();
    expect(runs.map((r) => r.items)).toEqual([['a', 'b'], ['c', 'dddd'], ['eeeeeeee'], ['f']]);
  });

  test("an item's failure fails only that item; a failed run fails all of its items", async () => {
    const { batcher, runs, turn } = recordingBatcher({ maxInFlight: 1 });
    const one = [batcher.submit('ok'), batcher.submit('bad')];
    await turn();
    runs[0]!.settle([
      { ok: true, value: 'fine' },
      { ok: false, error: new Error('refused') },
    ]);
    await expect(one[0]).resolves.toBe('fine');
    await expect(one[1]).rejects.toThrow('refused');
    const two = [batcher.submit('x'), batcher.submit('y')];
    await turn();
    runs[1]!.fail(new Error('transport down'));
    await expect(Promise.all(two.map((p) => p.catch((e: Error) => e.message)))).resolves.toEqual([
      'transport down',
      'transport down',
    ]);
  });

  test('an item that waits maxWait in the queue fails and never leaves; one that left is not failed by it', async () => {
    const { batcher, runs, turn, echo } = recordingBatcher({ maxInFlight: 1, maxWaitMs: 50 });
    const sent = batcher.submit('a');
    await turn();
    const waiting = [batcher.submit('b'), batcher.submit('c')];
    await expect(Promise.all(waiting.map((p) => p.catch((e: Error) => e.message)))).resolves.toEqual([
      'waited too long',
      'waited too long',
    ]);
    // 'a' left before its budget ran out: it waits for its answer however long the run takes.
    runs[0]!.settle(echo(runs[0]!.items));
    await expect(sent).resolves.toBe('a!');
    await turn();
    expect(runs.map((r) => r.items)).toEqual([['a']]);
    // The queue goes on: an item submitted now leaves at once, and its slow run is not cut short.
    const next = batcher.submit('d');
    await turn();
    await new Promise((resolve) => setTimeout(resolve, 80));
    runs[1]!.settle(echo(runs[1]!.items));
    await expect(next).resolves.toBe('d!');
    expect(runs.map((r) => r.items)).toEqual([['a'], ['d']]);
  });
});
