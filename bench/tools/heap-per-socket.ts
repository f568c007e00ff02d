/**
 * Where an idle socket's memory goes: starts the full stack and the bare baseline in turn, takes a heap snapshot
 * of one replica before and after holding idle sockets, and prints the heap growth per socket by constructor.
 *
 *   node --conditions=source --import tsx bench/tools/heap-per-socket.ts   (HEAP_SOCKETS=3000)
 *
 * Snapshots go to a temporary directory (each replica runs with --heapsnapshot-signal=SIGUSR2).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rampConnections } from '../src/connections';
import { startBareStack, startFullStack, type Replica, type Stack } from '../src/stacks';

const SOCKETS = Number(process.env.HEAP_SOCKETS ?? 3000);

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by "type:name" over every node of a .heapsnapshot. */
function sizesByConstructor(path: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    const rawName = snap.strings[snap.nodes[i + nameAt]!] ?? '?';
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? '(strings)'
        : rawName.slice(0, 60);
    const key = `${type}:${name}`;
    const entry = out.get(key) ?? { size: 0, count: 0 };
    entry.size += snap.nodes[i + sizeAt]!;
    entry.count += 1;
    out.set(key, entry);
  }
  return out;
}

async function snapshot(replica: Replica, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(replica.pid, 'SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const added = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (added.length > 0) {
      // Written once the file stops growing.
      const path = join(dir, added[0]!);
      let size = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        const now = readFileSync(path).length;
        if (now === size && now > 0) return path;
        size = now;
      }
    }
  }
}

async function measure(stack: Stack, dir: string): Promise<void> {
  const replica = stack.replicas[0]!;
  const empty = await snapshot(replica, dir);
  let full = '';
  const result = await rampConnections(
    stack,
    {
      target: SOCKETS,
      seconds: 120,
      holdSeconds: 1,
      whileHeld: async () => void (full = await snapshot(replica, dir)),
    },
    () => undefined,
  );
  const held = result.replicas[0]!.sockets;
  const a = sizesByConstructor(empty);
  const b = sizesByConstructor(full);
  const rows = [...b.entries()]
    .map(([key, v]) => ({
      key,
      bytes: v.size - (a.get(key)?.size ?? 0),
      objects: v.count - (a.get(key)?.count ?? 0),
    }))
    .filter((r) => r.bytes > 0)
    .sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  process.stdout.write(
    `\n${stack.name}: ${held} sockets on ${replica.label}; heap growth ${(total / held / 1024).toFixed(1)} KiB per socket\n`,
  );
  for (const r of rows.slice(0, 25)) {
    process.stdout.write(
      `  ${(r.bytes / held).toFixed(0).padStart(6)} B/socket  ${(r.objects / held).toFixed(2).padStart(6)} obj/socket  ${r.key}\n`,
    );
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cohort-heap-'));
  process.env.BENCH_SERVER_NODE_OPTIONS = `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`;
  try {
    for (const start of [startFullStack, startBareStack]) {
      const stack = await start({ chats: 20, usersPerChat: 10, replicas: 3 });
      try {
        await measure(stack, dir);
      } finally {
        await stack.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
