import { Redis } from 'ioredis';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ASSISTANT_USER_ID } from '@cohort/common';
import {
  apiAs,
  freePort,
  registerUser,
  spawnNodeProcess,
  startRedisServer,
  type ServiceProcess,
  type TestUser,
} from '@cohort/testkit';
import { startCluster, startNginx, storeCommandCounter } from '@cohort/testkit';
import { commandLine, processTree } from './proc';

/** A Socket.IO server process the benches talk to directly (RSS, CPU, held sockets). */
export interface Replica {
  label: string;
  pid: number;
  /** `http://127.0.0.1:<port>` of the replica itself (bypassing nginx). */
  url: string;
}

/** One chat of the bench: its id and the handshake `auth` of each member (sockets cycle through them). */
export interface BenchChat {
  id: string;
  memberAuth: Array<Record<string, unknown>>;
}

/** The system under test, full or bare, as the benches see it. */
export interface Stack {
  name: 'full' | 'bare';
  description: string;
  /** nginx, as `http://127.0.0.1:<port>`. */
  edgeUrl: string;
  /** The realtime upstream servers exactly as nginx's config names them (its consistent hash keys on them). */
  upstreams: string[];
  replicas: Replica[];
  /** The fan-out chats (many members each). */
  chats: BenchChat[];
  /** The small chats (2 to 5 members, one user per member; 2-member chats are direct chats in the full stack). */
  smallChats: BenchChat[];
  /** Kills replica `index` with SIGKILL (a crash: no close frames) and resolves once it is gone. */
  killReplica(index: number): Promise<void>;
  /** Starts replica `index` again on the same port; resolves once it listens. */
  respawnReplica(index: number): Promise<void>;
  /** Whether `chat:sync` exists (persistence): lost messages are then checked against what was stored. */
  persistent: boolean;
  /** Every server-side process (labelled) whose CPU the benches account for. */
  serverProcesses(): Array<{ label: string; pid: number }>;
  /**
   * Commands the store has received, by name (its serverStatus `metrics.commands`; the same on a real MongoDB), or
   * undefined without a store (bare). Differences over a run give the store round trips per message.
   */
  storeCommands(): Promise<Record<string, number> | undefined>;
  /** Sockets each replica reports connected (full stack: its /metrics); undefined when it cannot tell. */
  connectedPerReplica(): Promise<number[] | undefined>;
  /**
   * Handshakes each replica has answered from a chat-api lookup rather than the membership directory (the directory
   * missed, or was skipped as unusable), since it started; undefined without a directory (bare). A killed replica
   * reads NaN.
   */
  lookupsPerReplica(): Promise<number[] | undefined>;
  /**
   * `chat:sync`s each replica has handed to chat-api rather than answered from the recent messages it keeps, since
   * it started; undefined without them (bare). A killed replica reads NaN.
   */
  syncsToChatApiPerReplica(): Promise<number[] | undefined>;
  /**
   * The stack's Redis counters (INFO): commands processed, read and write events (a read event takes whatever a
   * client's writes put in the socket: fewer per command when clients pipeline, and when writes happen to coalesce)
   * and subscriptions made. Commands and subscriptions are counts no machine noise moves; events depend on timing.
   */
  redisCounters(): Promise<RedisCounters | undefined>;
  stop(): Promise<void>;
}

export interface StackPlan {
  chats: number;
  usersPerChat: number;
  replicas: number;
  /** Small chats: how many, and their sizes (chat c has minMembers + c mod (maxMembers − minMembers + 1)). */
  smallChats?: number;
  smallMinMembers?: number;
  smallMaxMembers?: number;
  /** Assistant replicas in the full stack (0 by default: no chat of the other parts calls the assistant). */
  assistantReplicas?: number;
  /** Makes the assistant a member of every fan-out chat (it answers the messages that mention it). */
  assistantInChats?: boolean;
  /**
   * Extra environment for every service of the full stack and every bare process (the model's `AI_*` settings:
   * the bare processes answer @cohortgpt with them, `src/bare-assistant.ts`), over the bench's own.
   */
  env?: Record<string, string>;
}

/** Members of small chat `c`. */
export function smallChatSize(plan: StackPlan, c: number): number {
  const min = plan.smallMinMembers ?? 2;
  const max = plan.smallMaxMembers ?? 5;
  return min + (c % (max - min + 1));
}

/**
 * Under BENCH_PROFILE_DIR, asks a process about to be SIGKILLed to write its CPU profile so far (the profiler's
 * SIGUSR2, tools/cpu-profile.cjs) and waits up to 10 s for the file: otherwise a killed replica leaves none.
 */
async function flushProfile(pid: number): Promise<void> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return;
  const asked = Date.now();
  const written = () => {
    try {
      return readdirSync(dir).some(
        (f) => f.endsWith(`-${pid}.cpuprofile`) && statSync(join(dir, f)).mtimeMs >= asked,
      );
    } catch {
      return false;
    }
  };
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (!written() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // The file appears when writing starts: give a large profile time to be complete.
  await new Promise((r) => setTimeout(r, 500));
}

async function killProcess(pid: number): Promise<void> {
  await flushProfile(pid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every descendant of this process that is a server, labelled by the known pids or by its command line. */
function labelServers(
  known: Map<number, string>,
  exclude: ReadonlySet<number>,
  owned: ReadonlySet<number>,
): Array<{ label: string; pid: number }> {
  const result: Array<{ label: string; pid: number }> = [];
  let nginxWorkers = 0;
  for (const pid of processTree(process.pid)) {
    if (pid === process.pid || exclude.has(pid)) continue;
    // Only this stack's processes: the other stack runs at the same time, with its own redis and nginx.
    if (!known.has(pid) && !owned.has(pid)) continue;
    const cmd = commandLine(pid);
    let label = known.get(pid);
    if (!label) {
      if (cmd.includes('redis-server')) label = 'redis';
      else if (cmd.startsWith('nginx: worker')) label = `nginx-worker-${(nginxWorkers += 1)}`;
      else if (cmd.includes('nginx')) label = 'nginx-master';
      else if (cmd.includes('embedded-mongo')) label = 'store';
      else if (/services\/([\w-]+)\/src\/main\.ts/.test(cmd))
        label = `${/services\/([\w-]+)\//.exec(cmd)![1]}-${pid}`;
      else continue; // the bench's own client workers and helpers
    }
    result.push({ label, pid });
  }
  return result;
}

/**
 * Diagnostics for the server processes: BENCH_PROFILE_DIR makes each write a V8 CPU profile there when it stops;
 * BENCH_SERVER_NODE_OPTIONS is added to their NODE_OPTIONS (for example `--max-semi-space-size=64`; SIGUSR2 is the profiler's when profiling).
 */
function profilingEnv(): Record<string, string> {
  const dir = process.env.BENCH_PROFILE_DIR;
  const options = [
    ...(dir ? [`--require=${join(__dirname, '..', 'tools', 'cpu-profile.cjs')}`] : []),
    ...(process.env.BENCH_SERVER_NODE_OPTIONS ? [process.env.BENCH_SERVER_NODE_OPTIONS] : []),
  ];
  return {
    ...(options.length > 0 ? { NODE_OPTIONS: options.join(' ') } : {}),
    ...(dir ? { BENCH_PROFILE_DIR: dir } : {}),
  };
}

/**
 * BENCH_SERVICE_ENV (`NAME=value,NAME=value`): settings for every service of the full stack, over the bench's own,
 * so one setting can be measured before/after on the same code (say `MEMBERSHIP_CACHE_MS=2000`).
 */
function serviceEnv(): Record<string, string> {
  const pairs = (process.env.BENCH_SERVICE_ENV ?? '').split(',').filter((pair) => pair.trim() !== '');
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_SERVICE_ENV: "${pair}" is not NAME=value`);
      return [pair.slice(0, at).trim(), pair.slice(at + 1)];
    }),
  );
}

/** Excluded from server CPU accounting: the bench's own client processes. */
export const clientPids = new Set<number>();

function pidOf(service: ServiceProcess): number {
  const pid = service.child.pid;
  if (pid === undefined) throw new Error(`${service.name} has no pid`);
  return pid;
}

async function inBatches<T>(
  count: number,
  concurrency: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        out[i] = await make(i);
      }
    }),
  );
  return out;
}

export interface RedisCounters {
  commands: number;
  reads: number;
  writes: number;
  /** SSUBSCRIBE + SUBSCRIBE + PSUBSCRIBE calls. */
  subscribes: number;
  /** Calls by command (INFO commandstats; lower-case names, `evalsha`, `hset`…). */
  calls: Record<string, number>;
}

/** INFO's counters of the Redis at `url` (one short-lived connection). */
async function readRedisCounters(url: string): Promise<RedisCounters> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info('all');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    const calls: Record<string, number> = {};
    for (const [, command, count] of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm))
      calls[command!] = Number(count);
    const of = (command: string) => calls[command] ?? 0;
    return {
      commands: field('total_commands_processed'),
      reads: field('total_reads_processed'),
      writes: field('total_writes_processed'),
      subscribes: of('ssubscribe') + of('subscribe') + of('psubscribe'),
      calls,
    };
  } finally {
    client.disconnect();
  }
}

async function metricValue(url: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(label));
  return line ? Number(line.trim().split(/\s+/).pop()) : label ? 0 : Number.NaN;
}

/**
 * The whole product as the local cluster runs it (scripts/cluster): nginx, 2 gateways, auth, chat-api on the
 * embedded store, Redis and N realtime replicas, with users registered through the public API and group chats
 * created. Rate limits are raised so the bench measures capacity, not the limiters.
 */
/** The pids started since `before` (a snapshot of this process's tree): what one stack brought up. */
function startedSince(before: ReadonlySet<number>): Set<number> {
  return new Set(processTree(process.pid).filter((pid) => !before.has(pid)));
}

export async function startFullStack(plan: StackPlan): Promise<Stack> {
  const treeBefore = new Set(processTree(process.pid));
  const cluster = await startCluster({
    realtimeReplicas: plan.replicas,
    gateways: 2,
    // Only the assistant part calls the assistant; elsewhere its replicas would only add idle CPU to the figures.
    assistantReplicas: plan.assistantReplicas ?? 0,
    env: {
      BCRYPT_COST: '4',
      // A run is longer than the default 15-minute access token: the storm's last reconnects were refused.
      ACCESS_TOKEN_TTL_SECONDS: '7200',
      LOGIN_IP_LIMIT: '1000000',
      PASSWORD_CHECKS_PER_ADDRESS: '1000000',
      SEND_RATE_LIMIT: '1000000/10s',
      CHAT_CREATE_RATE_LIMIT: '1000000/10s',
      MEMBER_ADD_RATE_LIMIT: '1000000/10s',
      MESSAGE_EDIT_RATE_LIMIT: '1000000/10s',
      RATE_LIMIT_BURST: '1000000',
      USER_EVENT_RATE_LIMIT: '100000000/10s',
      MAX_SOCKETS_PER_USER: '1000000',
      RATE_LIMIT_PER_SECOND: '1000000',
      LOG_LEVEL: 'warn',
      ...profilingEnv(),
      ...serviceEnv(),
      ...plan.env,
    },
  });
  try {
    const users: TestUser[] = await inBatches(plan.chats * plan.usersPerChat, 16, (i) =>
      registerUser(cluster.url, `bench${i}`),
    );
    const chats = await inBatches(plan.chats, 4, async (c) => {
      const members = users.slice(c * plan.usersPerChat, (c + 1) * plan.usersPerChat);
      const [owner, ...others] = members;
      if (!owner) throw new Error('a chat needs at least one user');
      const chat = await apiAs(cluster.url, owner).createGroup(`bench chat ${c}`, [
        ...others.map((u) => u.user.id),
        ...(plan.assistantInChats ? [ASSISTANT_USER_ID] : []),
      ]);
      return { id: chat.id, memberAuth: members.map((u) => ({ token: u.token })) };
    });
    const smallCount = plan.smallChats ?? 0;
    const smallSizes = Array.from({ length: smallCount }, (_, c) => smallChatSize(plan, c));
    const smallUsers: TestUser[] = await inBatches(
      smallSizes.reduce((a, b) => a + b, 0),
      16,
      (i) => registerUser(cluster.url, `small${i}`),
    );
    let nextUser = 0;
    const smallMembers = smallSizes.map((size) => {
      const members = smallUsers.slice(nextUser, nextUser + size);
      nextUser += size;
      return members;
    });
    const smallChats = await inBatches(smallCount, 8, async (c) => {
      const [owner, ...others] = smallMembers[c]!;
      if (!owner) throw new Error('a chat needs at least one user');
      const api = apiAs(cluster.url, owner);
      const id =
        others.length === 1
          ? (
              await api.call<{ chat: { id: string } }>(
                'POST',
                '/api/chats',
                { type: 'direct', userId: others[0]!.user.id },
                [200, 201],
              )
            ).chat.id
          : (
              await api.createGroup(
                `small ${c}`,
                others.map((u) => u.user.id),
              )
            ).id;
      return { id, memberAuth: smallMembers[c]!.map((u) => ({ token: u.token })) };
    });
    const owned = startedSince(treeBefore);
    const storeStatus = storeCommandCounter(cluster.mongoUrl);
    const respawned = new Map<number, ServiceProcess>();
    const replicas = cluster.realtime.map((r) => ({ label: r.name, pid: pidOf(r), url: r.url }));
    /** A counter of every replica's /metrics (NaN for a replica that does not answer: killed). */
    const counterPerReplica = (name: string, label: string) =>
      Promise.all(replicas.map((r) => metricValue(r.url, name, label).catch(() => Number.NaN)));
    const known = new Map<number, string>([
      [pidOf(cluster.auth), 'auth'],
      [pidOf(cluster.chatApi), 'chat-api'],
      ...cluster.realtime.map((r): [number, string] => [pidOf(r), r.name]),
      ...cluster.gateways.map((g): [number, string] => [pidOf(g), g.name]),
      ...cluster.assistants.map((a): [number, string] => [pidOf(a), a.name]),
    ]);
    return {
      name: 'full',
      description:
        `nginx → ${plan.replicas} realtime replicas (Redis bus + sharded adapter) → chat-api → embedded store; auth, 2 gateways` +
        (cluster.assistants.length > 0 ? `; ${cluster.assistants.length} assistant replicas` : ''),
      edgeUrl: cluster.url,
      upstreams: cluster.realtime.map((r) => `127.0.0.1:${r.port}`),
      replicas,
      chats,
      smallChats,
      killReplica: async (index) => {
        const replica = replicas[index]!;
        await killProcess(replica.pid);
        known.delete(replica.pid);
      },
      respawnReplica: async (index) => {
        const replica = replicas[index]!;
        await respawned
          .get(index)
          ?.stop()
          .catch(() => undefined);
        const service = await cluster.respawn(replica.label);
        respawned.set(index, service);
        replica.pid = pidOf(service);
        known.set(replica.pid, replica.label);
      },
      persistent: true,
      serverProcesses: () => labelServers(known, clientPids, owned),
      storeCommands: () => storeStatus.commands(),
      connectedPerReplica: () =>
        Promise.all(replicas.map((r) => metricValue(r.url, 'realtime_connected_sockets'))),
      redisCounters: () => readRedisCounters(cluster.redis.url),
      lookupsPerReplica: () => counterPerReplica('realtime_handshake_memberships_total', 'source="chat-api"'),
      syncsToChatApiPerReplica: () => counterPerReplica('realtime_syncs_total', 'answered_by="chat-api"'),
      stop: async () => {
        await storeStatus.close();
        for (const service of respawned.values()) await service.stop().catch(() => undefined);
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/**
 * The bare baseline: the same nginx config and Redis, N processes of bench/src/bare-server.ts sharing rooms
 * through @socket.io/redis-adapter. No auth, no persistence, no presence; with `plan.env` naming a model
 * (AI_BASE_URL), they answer @cohortgpt too.
 */
export async function startBareStack(plan: StackPlan): Promise<Stack> {
  const treeBefore = new Set(processTree(process.pid));
  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  };
  try {
    const redis = await startRedisServer();
    stoppers.push(() => redis.close());
    const spawnReplica = (i: number, port?: number) =>
      spawnNodeProcess({
        entry: join(__dirname, 'bare-server.ts'),
        label: `bare-${i + 1}`,
        env: {
          REDIS_URL: redis.url,
          REPLICA_ID: `bare-${i + 1}`,
          NODE_ENV: 'production',
          ...(port ? { PORT: String(port) } : {}),
          ...profilingEnv(),
          ...plan.env,
        },
      });
    const replicas = await Promise.all(Array.from({ length: plan.replicas }, (_, i) => spawnReplica(i)));
    const live: ServiceProcess[] = [...replicas];
    stoppers.push(async () => {
      for (const r of live) await r.stop().catch(() => undefined);
    });
    const webRoot = mkdtempSync(join(tmpdir(), 'cohort-bench-web-'));
    stoppers.push(async () => rmSync(webRoot, { recursive: true, force: true }));
    const port = await freePort();
    const nginx = await startNginx({
      listen: `127.0.0.1:${port}`,
      realtime: replicas.map((r) => `127.0.0.1:${r.port}`),
      // Nothing is routed to /api/ in the baseline; the upstream block only needs a valid address.
      gateways: [`127.0.0.1:${replicas[0]!.port}`],
      webRoot,
    });
    stoppers.push(() => nginx.stop());
    const chats: BenchChat[] = Array.from({ length: plan.chats }, (_, c) => ({
      id: `bare-chat-${c}`,
      memberAuth: Array.from({ length: plan.usersPerChat }, (_, u) => ({
        chatId: `bare-chat-${c}`,
        userId: `user-${c}-${u}`,
      })),
    }));
    const smallChats: BenchChat[] = Array.from({ length: plan.smallChats ?? 0 }, (_, c) => ({
      id: `bare-small-${c}`,
      memberAuth: Array.from({ length: smallChatSize(plan, c) }, (_, u) => ({
        chatId: `bare-small-${c}`,
        userId: `small-${c}-${u}`,
      })),
    }));
    const known = new Map(replicas.map((r): [number, string] => [pidOf(r), r.name]));
    const owned = startedSince(treeBefore);
    const replicaViews = replicas.map((r) => ({ label: r.name, pid: pidOf(r), url: r.url }));
    return {
      name: 'bare',
      description:
        `nginx → ${plan.replicas} bare Socket.IO processes (@socket.io/redis-adapter, classic); no auth, no persistence` +
        (plan.env?.AI_BASE_URL
          ? '; @cohortgpt answered by the receiving process through the openai SDK'
          : ''),
      edgeUrl: `http://127.0.0.1:${port}`,
      upstreams: replicas.map((r) => `127.0.0.1:${r.port}`),
      replicas: replicaViews,
      chats,
      smallChats,
      killReplica: async (index) => {
        const replica = replicaViews[index]!;
        await killProcess(replica.pid);
        known.delete(replica.pid);
      },
      respawnReplica: async (index) => {
        const replica = replicaViews[index]!;
        const service = await spawnReplica(index, replicas[index]!.port);
        live[index] = service;
        replica.pid = pidOf(service);
        known.set(replica.pid, replica.label);
      },
      persistent: false,
      serverProcesses: () => labelServers(known, clientPids, owned),
      storeCommands: () => Promise.resolve(undefined),
      lookupsPerReplica: () => Promise.resolve(undefined),
      syncsToChatApiPerReplica: () => Promise.resolve(undefined),
      redisCounters: () => readRedisCounters(redis.url),
      connectedPerReplica: () =>
        Promise.all(
          replicaViews.map(async (r) => {
            const res = await fetch(`${r.url}/stats`);
            return ((await res.json()) as { sockets: number }).sockets;
          }),
        ),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
