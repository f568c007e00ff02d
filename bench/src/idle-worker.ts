/**
 * A client process holding idle sockets for the connections bench (forked with IPC by connections.ts). One
 * process can hold at most its open-file limit of sockets, so the bench forks several. Each socket answers the
 * server's pings (heartbeats) and does nothing else.
 */
import { LightSocket, LightSocketError } from './light-client';

export interface OpenCommand {
  type: 'open';
  /** Replica base URLs (`ws://…`); socket i goes to targets[(offset + i) mod targets.length]. */
  targets: string[];
  auths: Array<Record<string, unknown>>;
  offset: number;
  count: number;
  concurrency: number;
  /** Date.now() after which no new socket is opened. */
  deadline: number;
  localAddress?: string;
}

export interface WorkerProgress {
  type: 'progress' | 'done' | 'report';
  connected: number;
  /** Sockets held per target index. */
  perTarget: number[];
  failed: number;
  dropped: number;
  errors: Record<string, number>;
  reason?: string;
}

type Command = OpenCommand | { type: 'close' } | { type: 'report' };

const sockets: LightSocket[] = [];
let perTarget: number[] = [];
let failed = 0;
let dropped = 0;
const errors: Record<string, number> = {};

function progress(type: WorkerProgress['type'], reason?: string): WorkerProgress {
  return {
    type,
    connected: sockets.length - dropped,
    perTarget,
    failed,
    dropped,
    errors,
    ...(reason ? { reason } : {}),
  };
}

async function open(cmd: OpenCommand): Promise<string> {
  perTarget = cmd.targets.map(() => 0);
  let next = 0;
  let consecutiveFailures = 0;
  let reason = `reached this worker's share (${cmd.count})`;
  const timer = setInterval(() => process.send?.(progress('progress')), 500);
  await Promise.all(
    Array.from({ length: cmd.concurrency }, async () => {
      while (next < cmd.count) {
        if (Date.now() > cmd.deadline) {
          reason = 'time bound reached';
          return;
        }
        if (consecutiveFailures >= 200) {
          reason = `200 consecutive failures (last: ${Object.keys(errors).at(-1) ?? '?'})`;
          return;
        }
        const i = next;
        next += 1;
        const target = (cmd.offset + i) % cmd.targets.length;
        const socket = new LightSocket({
          baseUrl: cmd.targets[target]!,
          auth: cmd.auths[(cmd.offset + i) % cmd.auths.length]!,
          ...(cmd.localAddress ? { localAddress: cmd.localAddress } : {}),
          connectTimeoutMs: 15_000,
        });
        try {
          await socket.connect();
          socket.onClose = () => {
            dropped += 1;
            perTarget[target] = (perTarget[target] ?? 1) - 1;
          };
          sockets.push(socket);
          perTarget[target] = (perTarget[target] ?? 0) + 1;
          consecutiveFailures = 0;
        } catch (err) {
          failed += 1;
          consecutiveFailures += 1;
          const code = err instanceof LightSocketError ? err.code : String(err);
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    }),
  );
  clearInterval(timer);
  return reason;
}

process.on('message', (cmd: Command) => {
  if (cmd.type === 'open') {
    open(cmd).then(
      (reason) => process.send?.(progress('done', reason)),
      (err: unknown) => process.send?.(progress('done', `worker error: ${String(err)}`)),
    );
  } else if (cmd.type === 'report') {
    process.send?.(progress('report'));
  } else {
    for (const socket of sockets) socket.terminate();
    // Give the kernel a moment to send the resets before the process (and its descriptors) goes.
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
