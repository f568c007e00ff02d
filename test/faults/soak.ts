/**
 * Case 8, soak (a script, not a jest test; `npm run soak`): the local cluster under steady traffic and client
 * churn for SOAK_MINUTES (default 60), sampling every service's resident memory and CPU time, then the same
 * delivery verdict as the fault cases. Prints one JSON line per sample (SOAK_VERBOSE=1) and a final
 * `{"case":"soak",…}` line with, per process, the RSS growth in MB per hour and the change of its CPU use in
 * percentage points per hour (least-squares slopes after the first fifth of the run; a short run extrapolates,
 * and says so), and the delivery verdict.
 *
 *   npm run soak                                   # 60 minutes
 *   SOAK_MINUTES=2 npm run soak                    # a quick check that it works
 *   SOAK_MINUTES=3 SOAK_TOKEN_TTL_SECONDS=60 SOAK_RENEW_SECONDS=20 npm run soak   # …with tokens expiring
 *
 * Exits 1 if an acknowledged message was lost or duplicated, or if SOAK_MAX_MB_PER_MIN is set and a realtime
 * replica grew faster than that.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  apiAs,
  connectSocket,
  logIn,
  registerUser,
  waitFor,
  type ServiceProcess,
  type TestUser,
} from '@cohort/testkit';
import { crashed, startFaultCluster } from './support/cluster-kit';
import { slope } from './support/stats';
import { openStore } from './support/store';
import { TrackedClient } from './support/tracked-client';
import { Traffic, verdict } from './support/traffic';

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
};

const MINUTES = num('SOAK_MINUTES', 60);
const CLIENTS = num('SOAK_CLIENTS', 60);
const USERS = num('SOAK_USERS', 20);
const CHATS = num('SOAK_CHATS', 2);
const RATE = num('SOAK_RATE', 20);
const REPLICAS = num('SOAK_REPLICAS', 3);
const SAMPLE_SECONDS = num('SOAK_SAMPLE_SECONDS', 10);
/** Fraction of the clients that disconnect and reconnect each minute (connection lifecycle leaks). */
const CHURN_PER_MINUTE = Number(process.env.SOAK_CHURN_PER_MINUTE ?? 0.2);
/**
 * How often every user gets a fresh access token (tokens live 15 min), handed to its sockets as the web client
 * does after its refresh: `auth:refresh` on the live connection, `socket.auth` for the next handshake. Without it
 * every socket is disconnected at its token's expiry and cannot reconnect (the first 60-minute run found this).
 */
const RENEW_SECONDS = num('SOAK_RENEW_SECONDS', 300);
const MAX_MB_PER_MIN = process.env.SOAK_MAX_MB_PER_MIN ? Number(process.env.SOAK_MAX_MB_PER_MIN) : undefined;
const VERBOSE = process.env.SOAK_VERBOSE === '1';

/** Resident set size of a process in MB, from /proc (Linux). */
function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Kernel clock ticks per second (the unit of /proc/<pid>/stat's CPU times). */
const CLOCK_TICKS = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const started = performance.now();
  // SOAK_TOKEN_TTL_SECONDS: shorter access tokens (auth's minimum is 30 s), to check the renewal in a short run.
  const ttl = process.env.SOAK_TOKEN_TTL_SECONDS;
  const cluster = await startFaultCluster({
    realtimeReplicas: REPLICAS,
    gateways: 2,
    ...(ttl ? { env: { ACCESS_TOKEN_TTL_SECONDS: ttl } } : {}),
  });
  const store = await openStore(cluster.mongoUrl);
  const clients: TrackedClient[] = [];
  let stopping = false;
  let exitCode = 0;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const users: TestUser[] = [];
    for (let i = 0; i < USERS; i += 10) {
      users.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, USERS - i) }, (_, k) =>
            registerUser(cluster.url, `soak${i + k}`),
          ),
        )),
      );
    }
    const chatOf: string[] = [];
    for (let c = 0; c < CHATS; c += 1) {
      const members = users.filter((_, i) => i % CHATS === c);
      const chat = await apiAs(cluster.url, members[0]!).createGroup(
        `soak ${c}`,
        members.slice(1).map((u) => u.user.id),
      );
      users.forEach((u, i) => {
        if (i % CHATS === c) chatOf[i] = chat.id;
      });
    }
    for (let i = 0; i < CLIENTS; i += 20) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, CLIENTS - i) }, async (_, k) => {
            const index = (i + k) % USERS;
            const socket = await connectSocket(cluster.url, users[index]!);
            return new TrackedClient(socket, users[index]!, [chatOf[index]!], `client ${i + k}`, true);
          }),
        )),
      );
    }

    const processes: ServiceProcess[] = [
      cluster.auth,
      cluster.chatApi,
      ...cluster.gateways,
      ...cluster.realtime,
    ];
    const samples = new Map(processes.map((p) => [p.name, [] as Array<{ x: number; y: number }>]));
    /** CPU use (% of one core) over each sample interval. */
    const cpuSamples = new Map(processes.map((p) => [p.name, [] as Array<{ x: number; y: number }>]));
    const lastCpu = new Map<string, { at: number; seconds: number }>();
    const traffic = new Traffic(clients, RATE, 5000);
    const t0 = performance.now();
    const minutes = () => (performance.now() - t0) / 60_000;
    traffic.start();

    const sample = () => {
      const row: Record<string, number> = {};
      const cpuRow: Record<string, number> = {};
      for (const p of processes) {
        const mb = rssMb(p.child.pid);
        row[p.name] = round(mb, 1);
        samples.get(p.name)!.push({ x: minutes(), y: mb });
        const now = { at: performance.now(), seconds: cpuSeconds(p.child.pid) };
        const before = lastCpu.get(p.name);
        lastCpu.set(p.name, now);
        if (before && now.at > before.at) {
          const percent = (100 * (now.seconds - before.seconds)) / ((now.at - before.at) / 1000);
          cpuRow[p.name] = round(percent, 1);
          cpuSamples.get(p.name)!.push({ x: minutes(), y: percent });
        }
      }
      if (VERBOSE) {
        process.stdout.write(
          `${JSON.stringify({ sample: round(minutes()), acked: traffic.acked.size, rssMb: row, cpuPercent: cpuRow })}\n`,
        );
      }
    };
    sample();
    const sampler = setInterval(sample, SAMPLE_SECONDS * 1000);
    const churner = setInterval(() => {
      const count = Math.round((CHURN_PER_MINUTE * clients.length) / 6);
      for (let i = 0; i < count; i += 1) {
        const client = clients[Math.floor(Math.random() * clients.length)]!;
        if (!client.socket.connected) continue;
        client.socket.disconnect();
        client.socket.connect();
      }
    }, 10_000);
    const connectErrors: Record<string, number> = {};
    for (const c of clients)
      c.socket.on('connect_error', (err) => {
        connectErrors[err.message] = (connectErrors[err.message] ?? 0) + 1;
      });
    const renewals = { users: 0, sockets: 0, failures: [] as string[] };
    const renew = async () => {
      for (const user of users) {
        try {
          user.token = await logIn(cluster.url, user);
          renewals.users += 1;
        } catch (err) {
          renewals.failures.push(`login: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        for (const c of clients.filter((x) => x.user === user)) {
          c.socket.auth = { token: user.token };
          if (!c.socket.connected) continue;
          const ack = await c.socket
            .timeout(5000)
            .emitWithAck('auth:refresh', { token: user.token })
            .catch((err: unknown) => ({ ok: false as const, error: { code: String(err) } }));
          if (ack.ok) renewals.sockets += 1;
          else renewals.failures.push(`auth:refresh: ${ack.error.code}`);
        }
      }
    };
    let renewing: Promise<void> = Promise.resolve();
    const renewer = setInterval(() => {
      renewing = renewing.then(renew);
    }, RENEW_SECONDS * 1000);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (stopping || minutes() >= MINUTES) {
          clearInterval(check);
          resolve();
        }
      }, 250);
    });
    clearInterval(churner);
    clearInterval(renewer);
    await renewing;
    await traffic.stop();
    clearInterval(sampler);
    sample();

    // A client that cannot reconnect is a finding (reported with the handshake errors seen), not a crash of the
    // script: the verdict then covers the clients that are back.
    const notReconnected = await waitFor(() => {
      if (!clients.every((c) => c.socket.connected)) throw new Error('reconnecting');
      return 0;
    }, 30_000).catch(() => clients.filter((c) => !c.socket.connected).length);
    const judged = clients.filter((c) => c.socket.connected);
    await Promise.all(judged.map((c) => c.settled()));
    const stillUnacked = await traffic.retryUnacked();
    await Promise.all(judged.map((c) => c.syncNow()));
    const chatIds = [...new Set(chatOf)];
    const storedByChat = new Map(
      await Promise.all(chatIds.map(async (id) => [id, await store.messages(id)] as const)),
    );
    const result = verdict(judged, traffic.acked, storedByChat);

    const ran = minutes();
    const steadyOf = (points: Array<{ x: number; y: number }>) => {
      const steady = points.filter((p) => p.x >= ran / 5);
      return steady.length >= 2 ? steady : points;
    };
    const growth: Record<
      string,
      {
        startMb: number;
        endMb: number;
        maxMb: number;
        rssMbPerHour: number;
        cpuPercentAvg: number;
        cpuPercentMax: number;
        cpuPointsPerHour: number;
      }
    > = {};
    for (const [name, points] of samples) {
      const cpu = cpuSamples.get(name)!;
      const cpuSteady = steadyOf(cpu);
      growth[name] = {
        startMb: round(points[0]!.y, 1),
        endMb: round(points[points.length - 1]!.y, 1),
        maxMb: round(Math.max(...points.map((p) => p.y)), 1),
        rssMbPerHour: round(slope(steadyOf(points)) * 60, 1),
        cpuPercentAvg: round(cpuSteady.reduce((sum, p) => sum + p.y, 0) / Math.max(1, cpuSteady.length), 1),
        cpuPercentMax: round(Math.max(0, ...cpu.map((p) => p.y)), 1),
        cpuPointsPerHour: cpuSteady.length >= 2 ? round(slope(cpuSteady) * 60, 1) : 0,
      };
    }
    const crashes = crashed(processes);
    const summary = {
      case: 'soak',
      minutes: round(ran),
      replicas: REPLICAS,
      clients: CLIENTS,
      users: USERS,
      chats: CHATS,
      ratePerSecond: RATE,
      churnPerMinute: CHURN_PER_MINUTE,
      samples: samples.get(processes[0]!.name)!.length,
      attempts: traffic.attempts,
      acked: result.acked,
      errorCodes: traffic.errorCodes,
      unackedAfterRetry: stillUnacked.length,
      lost: result.lostInStore + result.lostAtClients,
      duplicates: result.duplicatesStored + result.duplicateDeliveries,
      seqGapFree: result.seqGapFree,
      reconnects: clients.reduce((s, c) => s + c.disconnects, 0),
      notReconnected,
      connectErrors,
      tokenRenewals: {
        users: renewals.users,
        sockets: renewals.sockets,
        failures: renewals.failures.slice(0, 5),
      },
      /** Per process: RSS (MB) and its growth per hour; CPU (% of one core) and its change per hour. */
      perProcess: growth,
      extrapolated: ran < 10 ? `slopes from ${round(ran, 1)} minutes, extrapolated to an hour` : false,
      crashes,
      problems: result.problems,
      wallSeconds: round((performance.now() - started) / 1000, 1),
    };
    const tooFast =
      MAX_MB_PER_MIN !== undefined &&
      cluster.realtime.some((r) => growth[r.name]!.rssMbPerHour / 60 > MAX_MB_PER_MIN);
    const failures = [
      ...(summary.lost > 0 ? [`${summary.lost} acknowledged messages lost`] : []),
      ...(summary.duplicates > 0 ? [`${summary.duplicates} duplicates`] : []),
      ...(stillUnacked.length > 0 ? [`${stillUnacked.length} sends never acknowledged`] : []),
      ...(!summary.seqGapFree ? ['seq gaps'] : []),
      ...(crashes.length > 0 ? [`crashed: ${crashes.join(', ')}`] : []),
      ...(notReconnected > 0
        ? [`${notReconnected} clients not reconnected 30 s after the traffic stopped`]
        : []),
      ...(renewals.failures.length > 0 ? [`${renewals.failures.length} token renewals failed`] : []),
      ...(tooFast ? [`a realtime replica grew faster than ${MAX_MB_PER_MIN} MB/min`] : []),
    ];
    const report = { ...summary, verdict: failures.length === 0 ? 'pass' : 'fail', failures };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    const table = Object.entries(growth).map(
      ([name, g]) =>
        `  ${name.padEnd(12)} RSS ${String(g.startMb).padStart(6)} → ${String(g.endMb).padStart(6)} MB (${g.rssMbPerHour >= 0 ? '+' : ''}${g.rssMbPerHour} MB/h)   CPU avg ${g.cpuPercentAvg}% (${g.cpuPointsPerHour >= 0 ? '+' : ''}${g.cpuPointsPerHour} points/h)`,
    );
    process.stdout.write(
      `soak ${round(ran, 1)} min: ${report.verdict.toUpperCase()}: ${result.acked} acked, lost ${summary.lost}, duplicates ${summary.duplicates}, seq gap-free ${summary.seqGapFree}${failures.length ? ` (${failures.join('; ')})` : ''}\n${table.join('\n')}\n`,
    );
    if (process.env.SOAK_OUT) writeFileSync(process.env.SOAK_OUT, `${JSON.stringify(report, null, 2)}\n`);
    if (failures.length > 0) exitCode = 1;
  } finally {
    for (const c of clients) c.socket.close();
    await store.close();
    await cluster.stop();
  }
  process.exitCode = exitCode;
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
