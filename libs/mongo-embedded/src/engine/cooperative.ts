import { type Deadline, TIME_SLICE_MS } from './deadline';

/** Steps of a long operation: it yields at interrupt points and finally returns its result. */
export type Steps<T> = Generator<void, T, void>;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `steps` on the calling turn while it stays within one time slice (every short query does,
 * and then no promise is involved); a longer one continues in slices separated by event-loop
 * turns, so other connections' commands (and the rest of the process: the store runs inside
 * `npm start`) are served meanwhile. The deadline is checked at every interrupt point.
 */
export function drive<T>(steps: Steps<T>, deadline: Deadline): T | Promise<T> {
  const sliceEnd = Date.now() + TIME_SLICE_MS;
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const now = Date.now();
    deadline.check(now);
    if (now >= sliceEnd) return continueInSlices(steps, deadline);
  }
}

async function continueInSlices<T>(steps: Steps<T>, deadline: Deadline): Promise<T> {
  for (;;) {
    await nextTurn();
    deadline.check();
    const sliceEnd = Date.now() + TIME_SLICE_MS;
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      const now = Date.now();
      deadline.check(now);
      if (now >= sliceEnd) break;
    }
  }
}

/** Runs `steps` to completion on the calling turn (writes: their read and write stay atomic). */
export function runNow<T>(steps: Steps<T>, deadline: Deadline): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    deadline.check();
  }
}
