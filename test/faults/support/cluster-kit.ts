import { randomUUID } from 'node:crypto';
import type { ServiceProcess } from '@cohort/testkit';
import { startCluster, type Cluster, type ClusterOptions } from '@cohort/testkit';

/** Limits raised so the fault cases measure faults, not the abuse limits (which have their own tests). */
export const RAISED_LIMITS: Record<string, string> = {
  BCRYPT_COST: '4',
  LOGIN_IP_LIMIT: '100000',
  SEND_RATE_LIMIT: '100000/10s',
  CHAT_CREATE_RATE_LIMIT: '100000/10s',
  MEMBER_ADD_RATE_LIMIT: '100000/10s',
  MESSAGE_EDIT_RATE_LIMIT: '100000/10s',
  RATE_LIMIT_BURST: '100000',
  USER_EVENT_RATE_LIMIT: '10000000/10s',
  MAX_SOCKETS_PER_USER: '100000',
  RATE_LIMIT_PER_SECOND: '100000',
};

export interface FaultCluster extends Cluster {
  /** The environment every service was started with (raised limits plus the case's own). */
  readonly env: Record<string, string>;
}

export async function startFaultCluster(
  options: Omit<ClusterOptions, 'env'> & { env?: Record<string, string> } = {},
): Promise<FaultCluster> {
  const env = { ...RAISED_LIMITS, ...options.env };
  const cluster = await startCluster({ ...options, env });
  return Object.assign(cluster, { env });
}

/**
 * Starts a chat-api process as startCluster does (same environment, same port, so the gateways and replicas
 * reach it unchanged), optionally against another store address (a delaying proxy). The cluster's own
 * chat-api must be gone first. The caller stops what this returns.
 */
export function spawnChatApiLike(
  cluster: FaultCluster,
  overrides: { mongoUrl?: string; env?: Record<string, string> } = {},
): Promise<ServiceProcess> {
  return cluster.respawn('chat-api', {
    ...(overrides.mongoUrl ? { MONGO_URL: overrides.mongoUrl } : {}),
    ...overrides.env,
  });
}

/** The store URL with its port replaced (to put a proxy in between). */
export function storeUrlVia(mongoUrl: string, port: number): string {
  const url = new URL(mongoUrl);
  url.port = String(port);
  return url.toString();
}

/** The replica nginx routes a sticky `cid` to, read from the `x-replica` header of an Engine.IO open. */
export async function replicaOf(baseUrl: string, cid: string): Promise<string> {
  const base = `${baseUrl}/socket.io/?EIO=4&transport=polling&cid=${encodeURIComponent(cid)}`;
  const open = await fetch(base);
  const replica = open.headers.get('x-replica');
  const body = await open.text();
  if (!replica) throw new Error(`no x-replica on the handshake (${open.status} ${body.slice(0, 200)})`);
  // Close the half-open Engine.IO session at once (packet "1") instead of leaving it to the ping timeout.
  const { sid } = JSON.parse(body.slice(1)) as { sid: string };
  await fetch(`${base}&sid=${sid}`, { method: 'POST', body: '1' }).then((r) => r.text());
  return replica;
}

/** `perReplica` sticky cids for every replica name in `replicas`. */
export async function cidsByReplica(
  baseUrl: string,
  replicas: readonly string[],
  perReplica: number,
): Promise<Map<string, string[]>> {
  const found = new Map(replicas.map((r) => [r, [] as string[]]));
  for (let attempts = 0; attempts < perReplica * replicas.length * 20; attempts += 1) {
    if ([...found.values()].every((list) => list.length >= perReplica)) return found;
    const cid = randomUUID();
    const list = found.get(await replicaOf(baseUrl, cid));
    if (list && list.length < perReplica) list.push(cid);
  }
  throw new Error(`could not find ${perReplica} cids per replica`);
}

/** Whether every process of the cluster is still running (no crash). */
export function crashed(processes: readonly ServiceProcess[]): string[] {
  return processes
    .filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
    .map((p) => `${p.name} (code ${p.child.exitCode}, signal ${p.child.signalCode})`);
}

/** Fatal/error log lines (pino levels 60/50) a process printed. */
export function errorLines(process: ServiceProcess, level: 50 | 60 = 60): string[] {
  return process.logs.filter((l) => l.includes(`"level":${level}`));
}
