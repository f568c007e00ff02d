import { LightSocket, LightSocketError } from './light-client';
import { ConsistentHashRing } from './nginx-hash';
import { CpuMeter, cpuByProcess } from './proc';
import { round } from './stats';
import type { Stack } from './stacks';

/** One reconnect storm: sockets on one replica, the replica killed, every socket back and caught up. */
export interface StormResult {
  stack: 'full' | 'bare';
  /** Sockets the victim replica held (counted by the replica itself before the kill). */
  sockets: number;
  victim: string;
  /** The ramp that put them there, through nginx: handshakes/s and server CPU per handshake. */
  rampSeconds: number;
  rampHandshakesPerSecond: number;
  rampCpuMsPerHandshake: number;
  rampCpuByProcess: Record<string, number>;
  /** CLOCK_MONOTONIC microseconds of the ramp's start and end, to cut CPU profiles to it (tools/profile-top.ts). */
  rampMonotonicUs: [number, number];
  /**
   * Idle CPU the held sockets add on their path (the replica holding them, nginx, Redis: CPU while held minus the
   * rate over a window just before the ramp), % of one core per 10,000 sockets.
   */
  idleCpuPercentPer10k: number;
  /**
   * The same over every other server process (absent from reports written before it was recorded): the held
   * sockets cause no work there, so this is their background work's swing between the two windows, kept apart so
   * it cannot swamp the sockets' own figure (bench/README.md, "How the method holds still", item 9).
   */
  idleElsewherePercentPer10k?: number;
  /**
   * The same by process, % of one core while held minus before the ramp: where the idle CPU goes, and which process
   * moved the figure (absent from reports written before it was recorded).
   */
  idleCpuByProcess?: Record<string, number>;
  /** From the kill to the last socket connected again and answered by `chat:sync`. */
  recoverSeconds: number;
  /** Attempts refused or timed out before success, summed over the sockets. */
  retries: number;
  /** Server CPU from the kill to the last catch-up, per socket that came back (handshake + sync + retries). */
  stormCpuMsPerHandshake: number;
  stormCpuByProcess: Record<string, number>;
  /** CLOCK_MONOTONIC microseconds of the kill and of the storm's end, as `rampMonotonicUs`. */
  stormMonotonicUs: [number, number];
  /**
   * Handshakes answered from a chat-api lookup instead of the membership directory, in the ramp (the victim) and in
   * the storm (the survivors); absent for bare and from reports written before they were recorded.
   */
  rampLookups?: number;
  stormLookups?: number;
  /**
   * The storm's catch-ups the survivors handed to chat-api (the others were answered from the recent messages they
   * keep); absent for bare and from reports written before they were recorded.
   */
  stormSyncsToChatApi?: number;
  /**
   * What Redis processed during the ramp, per handshake: commands, read and write events (a read takes what a
   * client's writes left in its socket) and subscriptions; absent from reports written before they were recorded.
   */
  rampRedisPerHandshake?: {
    commands: number;
    reads: number;
    writes: number;
    subscribes: number;
    /** The commands that made up most of it, per handshake (at least 0.05 each), most first. */
    byCommand?: Record<string, number>;
  };
  /** Failed attempts by cause (the light client's error code: `timeout`, `http_502`, a connect_error message…). */
  errors: Record<string, number>;
  /** Sockets that never came back within the time bound. */
  missing: number;
  clientCpuSeconds: number;
}

interface StormSocket {
  chatId: string;
  auth: Record<string, unknown>;
  cid: string;
  socket: LightSocket;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The ramp's lookups (the victim's counter) and the storm's (the survivors'), when the stack counts them. */
function lookupCounts(
  victim: number,
  beforeRamp: number[] | undefined,
  afterRamp: number[] | undefined,
  afterStorm: number[] | undefined,
): Pick<StormResult, 'rampLookups' | 'stormLookups'> {
  if (!beforeRamp || !afterRamp || !afterStorm) return {};
  return {
    rampLookups: afterRamp[victim]! - beforeRamp[victim]!,
    stormLookups: survivorsSum(victim, afterStorm) - survivorsSum(victim, afterRamp),
  };
}

/** A per-replica counter summed over the replicas other than `victim`. */
function survivorsSum(victim: number, counts: number[]): number {
  return counts.reduce((sum, n, i) => (i === victim ? sum : sum + n), 0);
}

async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(100);
  }
  return false;
}

/**
 * `count` sockets through nginx whose sticky `cid` hashes to replica `victim` (nginx's consistent hash,
 * reproduced in nginx-hash.ts and checked against the replica's own count), each a member of a small chat;
 * then the replica is killed (SIGKILL) and every socket reconnects at once through nginx, which sends it to a
 * live replica, and catches up with `chat:sync` from seq 0 (a page of its chat's history). A refused or timed-out
 * attempt is retried with socket.io-client's backoff (1 s doubling to 5 s, ±50 %). The replica is started again at the end and the sockets closed.
 */
export async function reconnectStorm(
  stack: Stack,
  options: {
    count: number;
    victim: number;
    /** Idle CPU while the sockets are held: at least one presence heartbeat period. */
    holdSeconds: number;
    /** Idle CPU without them, just before the ramp (subtracted as a rate). */
    baseSeconds: number;
    timeoutSeconds: number;
    tag: string;
  },
): Promise<StormResult> {
  const ring = new ConsistentHashRing(stack.upstreams);
  const cids = ring.keysFor(options.victim, options.count, `storm-${stack.name}-${options.tag}`);
  const chats = stack.smallChats;
  const wsUrl = stack.edgeUrl.replace(/^http/, 'ws');
  const sockets: StormSocket[] = cids.map((cid, i) => {
    const chat = chats[i % chats.length]!;
    const auth = chat.memberAuth[Math.floor(i / chats.length) % chat.memberAuth.length]!;
    return { chatId: chat.id, auth, cid, socket: undefined as unknown as LightSocket };
  });
  const open = (s: StormSocket, timeoutMs: number) => {
    s.socket = new LightSocket({
      baseUrl: wsUrl,
      query: { cid: s.cid },
      auth: s.auth,
      connectTimeoutMs: timeoutMs,
    });
    return s.socket.connect();
  };
  // nginx marks a killed replica failed for `fail_timeout` (5 s) and routes its keys elsewhere meanwhile: after
  // a respawn, wait until a victim `cid` lands on the victim again.
  const probeDeadline = Date.now() + 30_000;
  for (let n = 0; Date.now() < probeDeadline; n += 1) {
    const counts = await stack.connectedPerReplica().catch(() => undefined);
    if (!counts) break;
    const probe = new LightSocket({
      baseUrl: wsUrl,
      query: { cid: ring.keysFor(options.victim, 1, `probe-${options.tag}-${n}`)[0]! },
      auth: sockets[0]!.auth,
    });
    const landed = await probe
      .connect()
      .then(() =>
        waitUntil(
          async () => (await stack.connectedPerReplica())![options.victim]! > counts[options.victim]!,
          1000,
        ),
      )
      .catch(() => false);
    probe.terminate();
    if (landed) break;
    await sleep(500);
  }
  await sleep(300);
  const before = await stack.connectedPerReplica().catch(() => undefined);
  // Idle CPU without the storm's sockets, to subtract from the CPU while they are held.
  const baseMeter = new CpuMeter(stack.serverProcesses()).begin();
  await sleep(options.baseSeconds * 1000);
  const base = baseMeter.end();

  // The ramp: every socket onto the victim.
  const lookupsBeforeRamp = await stack.lookupsPerReplica().catch(() => undefined);
  const redisBeforeRamp = await stack.redisCounters().catch(() => undefined);
  const rampMeter = new CpuMeter(stack.serverProcesses()).begin();
  const rampStartUs = Number(process.hrtime.bigint() / 1000n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < sockets.length) {
        const s = sockets[next]!;
        next += 1;
        await open(s, 15_000);
      }
    }),
  );
  const ramp = rampMeter.end();
  const rampEndUs = Number(process.hrtime.bigint() / 1000n);
  const onVictim = async () => {
    const now = await stack.connectedPerReplica();
    return now ? now[options.victim]! - (before?.[options.victim] ?? 0) : Number.NaN;
  };
  // The replica counts a socket once its handshake completed on its side: wait for all of them.
  await waitUntil(async () => (await onVictim()) >= options.count, 5000);
  const held = await onVictim().catch(() => Number.NaN);
  if (Number.isFinite(held) && held < options.count)
    throw new Error(
      `only ${held} of ${options.count} storm sockets on ${stack.replicas[options.victim]!.label}`,
    );

  const lookupsAfterRamp = await stack.lookupsPerReplica().catch(() => undefined);
  const redisAfterRamp = await stack.redisCounters().catch(() => undefined);
  const holdMeter = new CpuMeter(stack.serverProcesses()).begin();
  await sleep(options.holdSeconds * 1000);
  const hold = holdMeter.end();

  // The storm.
  const clientCpu = process.cpuUsage();
  let retries = 0;
  const errors: Record<string, number> = {};
  let back = 0;
  const stormMeter = new CpuMeter(
    stack.serverProcesses().filter((p) => p.pid !== stack.replicas[options.victim]!.pid),
  ).begin();
  const killedAt = performance.now();
  const deadline = killedAt + options.timeoutSeconds * 1000;
  let lastBackAt = killedAt;
  // Like socket.io-client: the first attempt at once, then a backoff of 1 s doubling up to 5 s, ±50 %, and a
  // 20 s connect timeout. Retrying faster than the servers can answer only adds abandoned handshakes to their
  // queues (a congestion collapse: with 100–300 ms retries and 10 s timeouts no full-stack socket came back).
  const recover = async (s: StormSocket): Promise<void> => {
    for (let attempt = 0; performance.now() < deadline; attempt += 1) {
      try {
        await open(s, 20_000);
        const reply = (await s.socket.emitWithAck(
          'chat:sync',
          { chatId: s.chatId, afterSeq: 0 },
          20_000,
        )) as {
          ok: boolean;
          error?: { code?: string };
        };
        if (!reply.ok) throw new Error(`chat:sync refused: ${reply.error?.code ?? 'no code'}`);
        back += 1;
        lastBackAt = performance.now();
        return;
      } catch (err) {
        retries += 1;
        const code =
          err instanceof LightSocketError ? err.code : err instanceof Error ? err.message : String(err);
        errors[code] = (errors[code] ?? 0) + 1;
        s.socket.terminate();
        await sleep(Math.min(5000, 1000 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  };
  const recovered = sockets.map(
    (s) =>
      new Promise<void>((resolve) => {
        s.socket.onClose = () => {
          void recover(s).then(resolve);
        };
      }),
  );
  const syncsBeforeStorm = await stack.syncsToChatApiPerReplica().catch(() => undefined);
  await stack.killReplica(options.victim);
  const stormStartUs = Number(process.hrtime.bigint() / 1000n);
  // The deadline's timer is cleared once every socket is back: left pending, it kept the bench's process alive for up
  // to a minute after its last figure.
  let deadlineTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(recovered),
    new Promise<void>((resolve) => {
      deadlineTimer = setTimeout(resolve, options.timeoutSeconds * 1000 + 1000);
    }),
  ]);
  clearTimeout(deadlineTimer);
  const storm = stormMeter.end();
  const stormEndUs = Number(process.hrtime.bigint() / 1000n);
  const client = process.cpuUsage(clientCpu);
  const lookupsAfterStorm = await stack.lookupsPerReplica().catch(() => undefined);
  const syncsAfterStorm = await stack.syncsToChatApiPerReplica().catch(() => undefined);

  await stack.respawnReplica(options.victim);
  for (const s of sockets) {
    s.socket.onClose = undefined;
    s.socket.terminate();
  }
  // Let the live replicas see the closed sockets before anything else is measured.
  await waitUntil(async () => {
    const now = await stack.connectedPerReplica();
    return !now || now.reduce((a, b) => a + b, 0) <= (before ?? []).reduce((a, b) => a + b, 0);
  }, 10_000);

  // % of a core each process spent while the sockets were held, minus its rate before the ramp.
  const idleByProcess = Object.fromEntries(
    Object.entries(hold.cpu).map(([label, seconds]) => [
      label,
      (seconds / hold.wallSeconds - (base.cpu[label] ?? 0) / base.wallSeconds) * 100,
    ]),
  );
  // What an idle socket touches: the replica holding it, nginx in front of it, Redis behind the replica.
  const victimLabel = stack.replicas[options.victim]!.label;
  const onSocketPath = (label: string) =>
    label === victimLabel || label === 'redis' || label.startsWith('nginx');
  const per10k = (percents: Record<string, number>, keep: (label: string) => boolean) =>
    (Object.entries(percents)
      .filter(([label]) => keep(label))
      .reduce((sum, [, percent]) => sum + percent, 0) *
      10_000) /
    options.count;

  return {
    stack: stack.name,
    sockets: Number.isFinite(held) ? held : options.count,
    victim: stack.replicas[options.victim]!.label,
    rampSeconds: round(ramp.wallSeconds, 2),
    rampHandshakesPerSecond: Math.round(options.count / ramp.wallSeconds),
    rampCpuMsPerHandshake: round((ramp.total * 1000) / options.count, 3),
    rampCpuByProcess: cpuByProcess(ramp.cpu),
    rampMonotonicUs: [rampStartUs, rampEndUs],
    stormMonotonicUs: [stormStartUs, stormEndUs],
    idleCpuPercentPer10k: round(per10k(idleByProcess, onSocketPath), 2),
    idleElsewherePercentPer10k: round(
      per10k(idleByProcess, (label) => !onSocketPath(label)),
      2,
    ),
    idleCpuByProcess: cpuByProcess(idleByProcess),
    recoverSeconds: round((lastBackAt - killedAt) / 1000, 2),
    retries,
    stormCpuMsPerHandshake: back > 0 ? round((storm.total * 1000) / back, 3) : Number.NaN,
    stormCpuByProcess: cpuByProcess(storm.cpu),
    ...lookupCounts(options.victim, lookupsBeforeRamp, lookupsAfterRamp, lookupsAfterStorm),
    ...(syncsBeforeStorm && syncsAfterStorm
      ? {
          stormSyncsToChatApi:
            survivorsSum(options.victim, syncsAfterStorm) - survivorsSum(options.victim, syncsBeforeStorm),
        }
      : {}),
    ...(redisBeforeRamp && redisAfterRamp
      ? {
          rampRedisPerHandshake: {
            commands: round((redisAfterRamp.commands - redisBeforeRamp.commands) / options.count, 2),
            reads: round((redisAfterRamp.reads - redisBeforeRamp.reads) / options.count, 2),
            writes: round((redisAfterRamp.writes - redisBeforeRamp.writes) / options.count, 2),
            subscribes: round((redisAfterRamp.subscribes - redisBeforeRamp.subscribes) / options.count, 2),
            byCommand: perHandshakeByCommand(redisBeforeRamp.calls, redisAfterRamp.calls, options.count),
          },
        }
      : {}),
    errors,
    missing: sockets.length - back,
    clientCpuSeconds: round((client.user + client.system) / 1e6, 2),
  };
}

/** Calls per handshake of each command between two readings, the commands under 0.05 per handshake left out. */
function perHandshakeByCommand(
  before: Record<string, number>,
  after: Record<string, number>,
  count: number,
): Record<string, number> {
  const rows = Object.entries(after)
    .map(([command, calls]): [string, number] => [
      command,
      round((calls - (before[command] ?? 0)) / count, 2),
    ])
    .filter(([, perHandshake]) => perHandshake >= 0.05)
    .sort(([, a], [, b]) => b - a);
  return Object.fromEntries(rows);
}
