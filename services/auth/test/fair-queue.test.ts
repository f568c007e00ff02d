import { AppError } from '@cohort/common';
import { createFairQueue } from '../src/passwords/fair-queue';

/** A task that finishes when the test says so, recording the order tasks started in. */
function controlled(started: string[]) {
  const finishers = new Map<string, () => void>();
  const task = (name: string) => () =>
    new Promise<string>((resolve) => {
      started.push(name);
      finishers.set(name, () => resolve(name));
    });
  // Tasks start and the queue moves on in later ticks: let them run before and after.
  const settle = () => new Promise((r) => setImmediate(r));
  const finish = async (name: string) => {
    await settle();
    finishers.get(name)!();
    await settle();
  };
  return { task, finish };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe('fair queue in front of the hashing pool', () => {
  it('takes turns between addresses instead of first come, first served', async () => {
    const queue = createFairQueue({ concurrency: 1, maxWaiting: 100, perAddress: 100, perAccount: 100 });
    const started: string[] = [];
    const { task, finish } = controlled(started);
    const all = ['a1', 'a2', 'a3', 'a4'].map((n) => queue.run({ address: 'A' }, task(n)));
    all.push(queue.run({ address: 'B' }, task('b1')));
    for (const name of ['a1', 'b1', 'a2', 'a3', 'a4']) await finish(name);
    await Promise.all(all);
    expect(started).toEqual(['a1', 'b1', 'a2', 'a3', 'a4']);
  });

  it('answers 429 past the share of an address or of an account, and frees it when a task ends', async () => {
    const queue = createFairQueue({ concurrency: 1, maxWaiting: 100, perAddress: 2, perAccount: 1 });
    const { task, finish } = controlled([]);
    const first = queue.run({ address: 'A' }, task('1'));
    const second = queue.run({ address: 'A', account: 'x@example.com' }, task('2'));
    const byAddress = await refusal(queue.run({ address: 'A' }, task('3')));
    expect(byAddress).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(byAddress.headers['Retry-After'])).toBeGreaterThan(0);
    const byAccount = await refusal(queue.run({ address: 'B', account: 'x@example.com' }, task('4')));
    expect(byAccount.status).toBe(429);
    await finish('1');
    await finish('2');
    await Promise.all([first, second]);
    await expect(queue.run({ address: 'B', account: 'x@example.com' }, async () => 'ok')).resolves.toBe('ok');
    expect(queue.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('when full, gives a newcomer the place of the heaviest address', async () => {
    const queue = createFairQueue({ concurrency: 1, maxWaiting: 3, perAddress: 100, perAccount: 100 });
    const { task, finish } = controlled([]);
    const running = queue.run({ address: 'A' }, task('a0'));
    const waiting = ['a1', 'a2', 'a3'].map((n) =>
      queue.run({ address: 'A' }, task(n)).catch((e: unknown) => e),
    );
    const newcomer = queue.run({ address: 'B' }, task('b1'));
    // a3, the newest of A's, made room; B is next in turn.
    expect(await waiting[2]).toMatchObject({ status: 503, code: 'busy' });
    await finish('a0');
    await finish('b1');
    await finish('a1');
    await finish('a2');
    await expect(Promise.all([running, newcomer, waiting[0], waiting[1]])).resolves.toEqual([
      'a0',
      'b1',
      'a1',
      'a2',
    ]);
  });

  it('refuses with 503 when the queue is full of equal shares', async () => {
    const queue = createFairQueue({ concurrency: 1, maxWaiting: 1, perAddress: 100, perAccount: 100 });
    const { task, finish } = controlled([]);
    const running = queue.run({ address: 'A' }, task('a0'));
    const waiting = queue.run({ address: 'B' }, task('b1'));
    expect(await refusal(queue.run({ address: 'C' }, task('c1')))).toMatchObject({ status: 503 });
    await finish('a0');
    await finish('b1');
    await Promise.all([running, waiting]);
  });
});
