/**
 * The headline figures of several `npm run bench` runs side by side, with their spread across the runs:
 *
 *   node --conditions=source --import tsx bench/tools/compare-runs.ts run1/latest.json run2/latest.json …
 *
 * For each figure: each run's full and bare medians and full ÷ bare, then the range of the runs' values and its
 * half-width as ± % of their middle.
 */
import { readFileSync } from 'node:fs';
import { figures, type BenchReport } from '../src/report';

const files = process.argv.slice(2);
const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchReport);
const perRun = reports.map((r) => figures(r));
const fmt = (n: number) => (Number.isFinite(n) ? String(n) : '–');
const swing = (values: number[]) => {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return '–';
  const min = Math.min(...v);
  const max = Math.max(...v);
  const mid = (min + max) / 2;
  return mid === 0
    ? `${fmt(min)}–${fmt(max)}`
    : `${fmt(min)}–${fmt(max)} (±${Math.round(((max - min) / 2 / mid) * 100)} %)`;
};

const lines: string[] = [];
lines.push(
  `| figure | ${reports.map((r, i) => `run ${i + 1} full / bare / ÷`).join(' | ')} | full across runs | ÷ across runs |`,
);
lines.push(`|---|${reports.map(() => '---').join('|')}|---|---|`);
const names = [...new Set(perRun.flatMap((figs) => figs.map((f) => f.name)))];
for (const name of names) {
  const row = perRun.map((figs) => figs.find((f) => f.name === name));
  const cells = row.map((g) =>
    g ? `${fmt(g.full.median)} / ${fmt(g.bare.median)} / ${fmt(g.ratio.median)}` : '–',
  );
  lines.push(
    `| ${name} | ${cells.join(' | ')} | ${swing(row.map((g) => g?.full.median ?? Number.NaN))} | ${swing(row.map((g) => g?.ratio.median ?? Number.NaN))} |`,
  );
}
lines.push('');
for (const [i, r] of reports.entries()) {
  lines.push(
    `- run ${i + 1}: ${r.generatedAt}, ${r.durationSeconds} s, load average ${r.loadAverage.start} → ${r.loadAverage.end}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
