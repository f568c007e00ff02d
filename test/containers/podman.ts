import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk } from './shell';

export const REPO_ROOT = join(__dirname, '..', '..');
/** cgroupfs, runc, no default ulimits, netavark DNS: what works on these machines (docs/deployment.md). */
export const CONTAINERS_CONF = join(REPO_ROOT, 'deploy', 'containers', 'containers.conf');
export const engineEnv: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF };

export const podman = (args: string[], timeoutMs?: number) =>
  runOk('podman', args, { env: engineEnv, ...(timeoutMs ? { timeoutMs } : {}) });

export interface BuiltImage {
  name: string;
  id: string;
  sizeBytes: number;
  user: string;
  healthcheck: string[];
  seconds: number;
}

interface ImageInspect {
  Id: string;
  Size: number;
  /** podman puts HEALTHCHECK at the top level of an image's inspect output (docker: under Config). */
  Healthcheck?: { Test?: string[] };
  Config: { User?: string; Healthcheck?: { Test?: string[] } };
}

export async function inspectImage(tag: string): Promise<Omit<BuiltImage, 'name' | 'seconds'>> {
  const [image] = JSON.parse(await podman(['image', 'inspect', tag])) as ImageInspect[];
  if (!image) throw new Error(`no image ${tag}`);
  return {
    id: image.Id,
    sizeBytes: image.Size,
    user: image.Config.User ?? '',
    healthcheck: image.Healthcheck?.Test ?? image.Config.Healthcheck?.Test ?? [],
  };
}

/** `podman build --format docker` (keeps HEALTHCHECK) of one Dockerfile, unchanged, from `context`. */
export async function buildImage(
  name: string,
  dockerfile: string,
  tag: string,
  context: string,
): Promise<BuiltImage> {
  const started = Date.now();
  await podman(
    ['build', '--format', 'docker', '--network', 'host', '--layers', '-f', dockerfile, '-t', tag, context],
    20 * 60_000,
  );
  return { name, ...(await inspectImage(tag)), seconds: (Date.now() - started) / 1000 };
}

/**
 * Podman runs HEALTHCHECKs from systemd timers, and there is no systemd here: this loop runs each running
 * container's own healthcheck (`podman healthcheck run`) at the interval its image or compose file sets, as
 * Docker's engine would, so compose's `condition: service_healthy` and the health states mean what they say.
 */
export function startHealthDriver(projectLabel: string, tickMs = 1000): () => Promise<void> {
  let stopped = false;
  const intervals = new Map<string, number>();
  const lastRun = new Map<string, number>();
  const intervalOf = async (id: string): Promise<number> => {
    const known = intervals.get(id);
    if (known !== undefined) return known;
    const out = await run('podman', ['inspect', '--format', '{{json .Config.Healthcheck}}', id], {
      env: engineEnv,
    });
    let ms = 30_000; // Docker's default interval
    try {
      const parsed = JSON.parse(out.stdout) as { Interval?: number } | null;
      if (parsed?.Interval) ms = parsed.Interval / 1e6;
    } catch {
      ms = 30_000;
    }
    intervals.set(id, ms);
    return ms;
  };
  const loop = (async () => {
    while (!stopped) {
      const ids = await run(
        'podman',
        ['ps', '-q', '--filter', `label=com.docker.compose.project=${projectLabel}`],
        { env: engineEnv },
      );
      const now = Date.now();
      await Promise.all(
        ids.stdout
          .split('\n')
          .filter(Boolean)
          .map(async (id) => {
            if (now - (lastRun.get(id) ?? 0) < (await intervalOf(id))) return;
            lastRun.set(id, now);
            await run('podman', ['healthcheck', 'run', id], { env: engineEnv, timeoutMs: 15_000 });
          }),
      );
      await new Promise((r) => setTimeout(r, tickMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** podman's Docker-compatible API on a socket of our own, for docker-compose v1; stopped by its pid. */
export async function startApiService(dir: string): Promise<{ socket: string; stop: () => Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'podman.sock');
  const child: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env: engineEnv,
    stdio: 'ignore',
  });
  const deadline = Date.now() + 15_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('podman system service did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface ContainerState {
  name: string;
  service: string;
  running: boolean;
  health: string;
  configuredUser: string;
  /** Real uid of the container's main process, read from /proc inside it. */
  processUid: number;
}

interface ContainerInspect {
  Name: string;
  State: { Running: boolean; Health?: { Status?: string }; Healthcheck?: { Status?: string } };
  Config: { User?: string; Labels?: Record<string, string> };
}

export async function containerState(id: string): Promise<ContainerState> {
  const [c] = JSON.parse(await podman(['container', 'inspect', id])) as ContainerInspect[];
  if (!c) throw new Error(`no container ${id}`);
  const status = await run('podman', ['exec', id, 'cat', '/proc/1/status'], { env: engineEnv });
  const uidLine = status.stdout.split('\n').find((l) => l.startsWith('Uid:')) ?? '';
  return {
    name: c.Name,
    service: c.Config.Labels?.['com.docker.compose.service'] ?? '',
    running: c.State.Running,
    health: c.State.Health?.Status ?? c.State.Healthcheck?.Status ?? 'none',
    configuredUser: c.Config.User ?? '',
    processUid: Number(uidLine.split(/\s+/)[1] ?? Number.NaN),
  };
}
