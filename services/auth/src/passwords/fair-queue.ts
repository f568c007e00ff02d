import { AppError } from '@cohort/common';

/** Who a password check is for: the client address the edge saw, and the account when there is one. */
export interface CheckOwner {
  address: string;
  account?: string;
}

/**
 * Admission to the password-hashing pool, fair between clients: a few concurrent bad logins from one
 * address (or at one account) must not make everyone else's logins fail. Per process: the pool it guards is.
 */
export interface FairQueue {
  /**
   * Runs `task` when its turn comes. Turns go round the client addresses that are waiting (start-time fair
   * queuing: a task's tag is one more than the later of "now" and its address's previous task), so a
   * newcomer waits behind at most one task per other waiting address, however many one of them queued.
   * 429 past an address's or an account's share; 503 when the queue is full of equal shares.
   */
  run<T>(owner: CheckOwner, task: () => Promise<T>): Promise<T>;
  /** Tasks running and waiting now (metrics, tests). */
  stats(): { running: number; waiting: number };
}

export interface FairQueueOptions {
  /** Tasks handed to the pool at once: its thread count, so the pool never builds a FIFO queue of its own. */
  concurrency: number;
  /** Waiting tasks, all clients together. */
  maxWaiting: number;
  /** Running + waiting tasks of one address. */
  perAddress: number;
  /** Running + waiting tasks for one account, whatever the addresses. */
  perAccount: number;
}

interface Waiter {
  owner: CheckOwner;
  start: () => void;
  refuse: (err: AppError) => void;
  /** Its place in the rotation: the lowest tag waiting goes next (`goesBefore`). */
  tag: number;
  /** Arrival order, for ties and to evict the most recent waiter when a lighter client needs its place. */
  arrival: number;
}

function tooMany(message: string): AppError {
  return AppError.tooManyRequests(1, message, 'rate_limited');
}

function busy(): AppError {
  return new AppError(503, 'busy', 'The service is busy, retry shortly', { 'Retry-After': '1' });
}

function bump(counts: Map<string, number>, key: string | undefined, by: number): void {
  if (key === undefined) return;
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}

export function createFairQueue(options: FairQueueOptions): FairQueue {
  const concurrency = Math.max(1, options.concurrency);
  /** Waiting tasks per address, in arrival order (so in tag order too). */
  const waiting = new Map<string, Waiter[]>();
  /** Running + waiting, for the per-address and per-account shares. */
  const byAddress = new Map<string, number>();
  const byAccount = new Map<string, number>();
  let running = 0;
  let waitingCount = 0;
  let arrivals = 0;
  /** The tag of the task dispatched last: "now" in the rotation. */
  let virtualTime = 0;

  const release = (owner: CheckOwner) => {
    bump(byAddress, owner.address, -1);
    bump(byAccount, owner.account, -1);
  };

  /** Lower tag first; on a tie the lighter address (fewer tasks running or waiting), then the earlier arrival. */
  const goesBefore = (a: Waiter, b: Waiter): boolean => {
    if (a.tag !== b.tag) return a.tag < b.tag;
    const loadA = byAddress.get(a.owner.address) ?? 0;
    const loadB = byAddress.get(b.owner.address) ?? 0;
    return loadA !== loadB ? loadA < loadB : a.arrival < b.arrival;
  };

  const dispatch = () => {
    while (running < concurrency) {
      // The heads of the queues, one per waiting address: few (at most maxWaiting), so a scan is enough.
      let next: { address: string; queue: Waiter[] } | undefined;
      for (const [address, queue] of waiting) {
        if (!next || goesBefore(queue[0]!, next.queue[0]!)) next = { address, queue };
      }
      if (!next) return;
      const waiter = next.queue.shift()!;
      if (next.queue.length === 0) waiting.delete(next.address);
      virtualTime = waiter.tag;
      waitingCount -= 1;
      running += 1;
      waiter.start();
    }
  };

  /** Makes room for a client with `ownWaiting` tasks waiting by dropping the newest task of a heavier one. */
  const evictForLighter = (ownWaiting: number): boolean => {
    let victim: { address: string; queue: Waiter[] } | undefined;
    for (const [address, queue] of waiting) {
      const heavier = !victim || queue.length > victim.queue.length;
      const sameButNewer =
        victim &&
        queue.length === victim.queue.length &&
        queue.at(-1)!.arrival > victim.queue.at(-1)!.arrival;
      if (heavier || sameButNewer) victim = { address, queue };
    }
    if (!victim || victim.queue.length <= ownWaiting + 1) return false;
    const dropped = victim.queue.pop()!;
    waitingCount -= 1;
    release(dropped.owner);
    dropped.refuse(busy());
    return true;
  };

  return {
    run<T>(owner: CheckOwner, task: () => Promise<T>): Promise<T> {
      if ((byAddress.get(owner.address) ?? 0) >= options.perAddress)
        return Promise.reject(
          tooMany('Too many password checks in progress from this address, retry shortly'),
        );
      if (owner.account !== undefined && (byAccount.get(owner.account) ?? 0) >= options.perAccount)
        return Promise.reject(
          tooMany('Too many password checks in progress for this account, retry shortly'),
        );
      const ownWaiting = waiting.get(owner.address)?.length ?? 0;
      if (waitingCount >= options.maxWaiting && !evictForLighter(ownWaiting)) return Promise.reject(busy());

      bump(byAddress, owner.address, 1);
      bump(byAccount, owner.account, 1);
      return new Promise<T>((resolve, reject) => {
        const start = () => {
          void Promise.resolve()
            .then(task)
            .then(resolve, reject)
            .finally(() => {
              running -= 1;
              release(owner);
              dispatch();
            });
        };
        const queue = waiting.get(owner.address);
        const tag = Math.max(virtualTime, queue?.at(-1)?.tag ?? 0) + 1;
        const waiter: Waiter = { owner, start, refuse: reject, tag, arrival: (arrivals += 1) };
        if (queue) queue.push(waiter);
        else waiting.set(owner.address, [waiter]);
        waitingCount += 1;
        dispatch();
      });
    },
    stats: () => ({ running, waiting: waitingCount }),
  };
}
