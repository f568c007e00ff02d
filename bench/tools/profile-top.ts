/**
 * Top self-time functions of V8 CPU profiles (the .cpuprofile files BENCH_PROFILE_DIR collects), per file:
 *
 *   node --conditions=source --import tsx bench/tools/profile-top.ts /tmp/prof [count] [fromUs toUs]
 *
 * `fromUs toUs` (CLOCK_MONOTONIC microseconds, as latest.json's `monotonicUs` of a run) keep only the samples
 * taken during that run, so set-up and other parts do not dilute the write path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [dir = '.', countArg = '15', fromArg, toArg] = process.argv.slice(2);
const count = Number(countArg);
const from = fromArg ? Number(fromArg) : Number.NEGATIVE_INFINITY;
const to = toArg ? Number(toArg) : Number.POSITIVE_INFINITY;

function shortUrl(url: string): string {
  const at = url.indexOf('/work/main/');
  const path = at >= 0 ? url.slice(at + '/work/main/'.length) : url.replace(/^file:\/\//, '');
  return path.replace(/^node_modules\//, '~');
}

/** A dependency by its package name, our code by its file, Node's internals as one group. */
function fileGroup(path: string): string {
  if (path.startsWith('~')) {
    const parts = path.slice(1).split('/');
    return `~${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (path.startsWith('node:')) return 'node internals';
  return path;
}

for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from || t > to) return;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') return;
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + delta);
    const file = url ? fileGroup(shortUrl(url)) : functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + delta);
    total += delta;
  });
  if (total === 0) continue;
  process.stdout.write(`\n## ${file}: ${(total / 1e6).toFixed(2)} s of samples (idle excluded)\n`);
  for (const [key, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}\n`);
  }
  process.stdout.write('  by package / source file:\n');
  for (const [key, us] of [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}\n`);
  }
}
