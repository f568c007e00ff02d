import { setTimeout as sleep } from 'node:timers/promises';
import { CpuMeter } from './proc';
import { round } from './stats';

type Processes = ReadonlyArray<{ label: string; pid: number }>;

/** How many cores `processes` use together over `seconds` (their CPU from the scheduler, item 9 of bench/README). */
export async function coresUsed(processes: Processes, seconds: number): Promise<number> {
  const meter = new CpuMeter(processes).begin();
  await sleep(seconds * 1000);
  const { total, wallSeconds } = meter.end();
  return total / wallSeconds;
}

export interface Settled {
  /** How long the wait took. */
  seconds: number;
  /** The cores the servers used in the last window of the wait. */
  cores: number;
  /** Whether they came within the margin of quiet before the deadline. */
  quiet: boolean;
}

/**
 * Waits until the servers of every stack, summed, use at most `quietCores + marginCores` over a `windowSeconds`
 * window, or `maxSeconds` have passed. A staircase ends with its stack overloaded; what it left (queued writes, GC,
 * buffers) runs for seconds after its last message is answered, beside the next run, and the two stacks share two
 * cores: a CPU run started in that wake, of either stack, measured the other's aftermath too (bench/README, "How the
 * method holds still", item 12).
 */
export async function settle(
  processes: Processes,
  options: { quietCores: number; marginCores: number; windowSeconds: number; maxSeconds: number },
): Promise<Settled> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  for (;;) {
    const cores = await coresUsed(processes, options.windowSeconds);
    const quiet = cores <= options.quietCores + options.marginCores;
    if (quiet || elapsed() + options.windowSeconds > options.maxSeconds)
      return { seconds: round(elapsed(), 1), cores: round(cores, 3), quiet };
  }
}
