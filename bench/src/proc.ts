import { readdirSync, readFileSync } from 'node:fs';
import { round } from './stats';

/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS = 100;

/** Resident memory of a process in bytes (VmRSS), or NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN; // the process exited between listing and reading
  }
}

/** CPU seconds (user + system) a process has used so far, or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * Run time of each thread of a process, nanoseconds by thread id, from /proc/<pid>/task/<tid>/schedstat (the
 * scheduler's own accounting, exact where /proc/<pid>/stat counts 10-ms ticks); undefined when it is unavailable or
 * the process is gone.
 */
export function threadCpuNs(pid: number): Map<number, number> | undefined {
  try {
    const threads = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        threads.set(
          Number(tid),
          Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]),
        );
      } catch {
        // the thread exited between listing and reading
      }
    }
    return threads.size > 0 ? threads : undefined;
  } catch {
    return undefined;
  }
}

/** One reading of a process's CPU: its tick count (every thread, exited ones too) and its threads' run times. */
interface CpuSample {
  ticks: number;
  threads: Map<number, number> | undefined;
}

function cpuSample(pid: number): CpuSample {
  return { ticks: cpuSeconds(pid), threads: threadCpuNs(pid) };
}

/**
 * CPU seconds a process used between two samples: the sum of its threads' exact run times, or the tick count's
 * difference when they disagree by more than two ticks (a thread exited in between and took its run time with it:
 * /proc/<pid>/stat keeps the time of exited threads, the per-thread files do not).
 */
function cpuUsedSeconds(start: CpuSample, end: CpuSample): number {
  const ticks = end.ticks - start.ticks;
  if (!start.threads || !end.threads) return ticks;
  let ns = 0;
  for (const [tid, runNs] of end.threads) ns += runNs - (start.threads.get(tid) ?? 0);
  const exact = ns / 1e9;
  return Math.abs(exact - ticks) <= 2 / CLOCK_TICKS ? exact : ticks;
}

/** Direct children of a process. */
export function childrenOf(pid: number): number[] {
  try {
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return tasks
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0)
      .map(Number);
  } catch {
    return [];
  }
}

/** A process and all its descendants. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i += 1) all.push(...childrenOf(all[i]!));
  return all;
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Samples CPU seconds of a set of labelled processes; `end()` answers CPU seconds used since `begin()`, exact to
 * the scheduler's nanoseconds where the kernel exposes them (`cpuUsedSeconds`), else to 10-ms ticks.
 */
export class CpuMeter {
  private readonly start = new Map<string, CpuSample>();
  private startedAt = 0;

  constructor(private readonly processes: ReadonlyArray<{ label: string; pid: number }>) {}

  begin(): this {
    this.startedAt = performance.now();
    // Keyed by pid: two stacks running at once both have a process labelled `redis`.
    for (const { pid } of this.processes) this.start.set(String(pid), cpuSample(pid));
    return this;
  }

  /** CPU seconds per process since `begin()`, and the wall-clock seconds elapsed. */
  end(): { wallSeconds: number; cpu: Record<string, number>; total: number } {
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const cpu: Record<string, number> = {};
    let total = 0;
    for (const { label, pid } of this.processes) {
      const start = this.start.get(String(pid));
      const used = start ? cpuUsedSeconds(start, cpuSample(pid)) : Number.NaN;
      cpu[label] = (cpu[label] ?? 0) + (Number.isFinite(used) ? used : 0);
      if (Number.isFinite(used)) total += used;
    }
    return { wallSeconds, cpu, total };
  }
}

/** A meter's CPU seconds per process, rounded to `digits` for a report. */
export function cpuByProcess(cpu: Readonly<Record<string, number>>, digits = 2): Record<string, number> {
  return Object.fromEntries(Object.entries(cpu).map(([label, seconds]) => [label, round(seconds, digits)]));
}

/** The machine the figures came from. */
export function machineInfo(): {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  node: string;
  kernel: string;
} {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? Number.NaN);
  let kernel: string;
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = 'unknown'; // no /proc/sys: leave it unnamed
  }
  const nproc = cpuinfo.split('\n').filter((l) => l.startsWith('processor')).length;
  return {
    nproc,
    cpuModel: model,
    memTotalGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    node: process.version,
    kernel,
  };
}

/** The soft limit on open files of a process (what bounds its sockets). */
export function openFileLimit(pid: number = process.pid): number {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    return match?.[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}
