// `npm run test:containers`: the deploy artifacts proven with real containers on this machine (issue 21).
// Builds the registry stand-ins, every image from its unchanged Dockerfile, checks layer isolation, brings
// docker-compose.yml up under podman (docker-compose v1 on podman's API socket) with only MongoDB replaced by
// the test-only override, and chats through the edge container across the realtime replicas, stopping one.
// Too long for CI (several minutes): run it by hand; docs/deployment.md has the last timings.
// Options: KEEP_UP=1 leaves the topology running; CT_WORK (default /var/tmp/cohort-ct) holds the build context.
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, generateTestKeys, waitFor } from '@cohort/testkit';
import {
  assistantThroughEdge,
  chatThroughEdge,
  firstCallsThroughEdge,
  type ChatFindings,
} from './chat-checks';
import {
  REPO_ROOT,
  buildImage,
  containerState,
  engineEnv,
  inspectImage,
  podman,
  startApiService,
  startHealthDriver,
  type BuiltImage,
  type ContainerState,
} from './podman';
import { run, runOk } from './shell';

const WORK = process.env.CT_WORK ?? '/var/tmp/cohort-ct';
const CONTEXT = join(WORK, 'context');
const PROJECT = 'cohortct';
const TAG = '0.1.0';
const SERVICES = ['auth', 'chat-api', 'gateway', 'realtime', 'assistant'] as const;
const COMPOSE_FILES = ['-f', 'docker-compose.yml', '-f', 'deploy/compose.test-embedded-mongo.yml'];
/** What deploy/containers/fake-model answers (its default FAKE_TEXT). */
const FAKE_MODEL_TEXT = 'Summary from the container test model.';
/** The service image whose source the layer-isolation check edits. */
const CHANGED = 'realtime';

interface Step {
  name: string;
  seconds: number;
  ok: boolean;
  detail: string;
}
const steps: Step[] = [];
const skipped: string[] = [];
const started = Date.now();

async function step<T>(name: string, body: () => Promise<T>, describe: (value: T) => string): Promise<T> {
  const t0 = Date.now();
  process.stdout.write(`▶ ${name}\n`);
  try {
    const value = await body();
    const entry = { name, seconds: (Date.now() - t0) / 1000, ok: true, detail: describe(value) };
    steps.push(entry);
    process.stdout.write(`  ✔ ${entry.seconds.toFixed(1)} s — ${entry.detail}\n`);
    return value;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    steps.push({ name, seconds: (Date.now() - t0) / 1000, ok: false, detail });
    process.stdout.write(`  ✘ ${name}: ${detail}\n`);
    throw error;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function requireTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of ['podman', 'docker-compose', 'debootstrap', 'runc', 'netavark']) {
    const found = await run('sh', ['-c', `command -v ${tool} || test -x /usr/lib/podman/${tool}`]);
    if (found.code !== 0) missing.push(tool);
  }
  if (missing.length)
    throw new Error(
      `missing ${missing.join(', ')}: apt-get install -y --no-install-recommends podman buildah runc ` +
        'debootstrap netavark aardvark-dns docker-compose (docs/deployment.md)',
    );
}

/** A snapshot of the build context (what .dockerignore would send), so others' edits cannot race the builds. */
function snapshotContext(): void {
  rmSync(CONTEXT, { recursive: true, force: true });
  const skip = new Set([
    'node_modules',
    'dist',
    '.tsbuild',
    '.git',
    '.data',
    'artifacts',
    'results',
    'reports',
  ]);
  cpSync(REPO_ROOT, CONTEXT, {
    recursive: true,
    filter: (src) => !skip.has(src.split('/').pop() ?? '') && !src.endsWith('.env'),
  });
}

const hasAssistant = () => existsSync(join(CONTEXT, 'services', 'assistant', 'package.json'));

function imageList(): Array<{ name: string; dockerfile: string; tag: string }> {
  const images: Array<{ name: string; dockerfile: string; tag: string }> = [];
  for (const service of SERVICES) {
    if (service === 'assistant' && !hasAssistant()) continue;
    images.push({
      name: service,
      dockerfile: `services/${service}/Dockerfile`,
      tag: `docker.io/cohortgpt/${service}:${TAG}`,
    });
  }
  images.push({
    name: 'edge (nginx)',
    dockerfile: 'nginx/Dockerfile',
    tag: `docker.io/cohortgpt/edge:${TAG}`,
  });
  images.push({
    name: 'mongo-embedded (test only)',
    dockerfile: 'deploy/containers/mongo-embedded/Dockerfile',
    tag: `docker.io/cohortgpt/mongo-embedded-test:${TAG}`,
  });
  return images;
}

async function buildAll(): Promise<BuiltImage[]> {
  const built: BuiltImage[] = [];
  for (const image of imageList()) {
    const result = await buildImage(image.name, join(CONTEXT, image.dockerfile), image.tag, CONTEXT);
    if (!result.healthcheck.length) throw new Error(`${image.name}: the image lost its HEALTHCHECK`);
    if (SERVICES.some((s) => s === image.name) && result.user !== 'node')
      throw new Error(`${image.name}: USER is '${result.user}', not node`);
    if (!result.user || result.user === 'root' || result.user === '0')
      throw new Error(`${image.name}: the image runs as root`);
    built.push(result);
    process.stdout.write(`    ${image.name}: ${mib(result.sizeBytes)}, ${result.seconds.toFixed(0)} s\n`);
  }
  return built;
}

/** Edits one service's source in the snapshot and rebuilds every service image: only that one may change. */
async function layerIsolation(before: BuiltImage[]): Promise<string> {
  const file = join(CONTEXT, 'services', CHANGED, 'src', 'main.ts');
  const original = readFileSync(file, 'utf8');
  appendFileSync(file, '\n// layer-isolation check (test/containers/run.ts)\n');
  const changed: string[] = [];
  const reused: string[] = [];
  try {
    for (const image of imageList().filter((i) => SERVICES.some((s) => s === i.name))) {
      const after = await buildImage(
        image.name,
        join(CONTEXT, image.dockerfile),
        `${image.tag}-layercheck`,
        CONTEXT,
      );
      const previous = before.find((b) => b.name === image.name);
      (after.id === previous?.id ? reused : changed).push(image.name);
    }
  } finally {
    writeFileSync(file, original);
  }
  if (changed.join() !== CHANGED)
    throw new Error(
      `after editing ${CHANGED} only, rebuilt: [${changed.join(', ')}], reused: [${reused.join(', ')}]`,
    );
  for (const image of imageList().filter((i) => SERVICES.some((s) => s === i.name)))
    await podman(['rmi', `${image.tag}-layercheck`]).catch(() => undefined);
  // The original source again: every layer comes from the cache, so the image is the one built first.
  const restored = await inspectImage(`docker.io/cohortgpt/${CHANGED}:${TAG}`);
  const first = before.find((b) => b.name === CHANGED);
  if (restored.id !== first?.id) throw new Error(`${CHANGED}'s tag moved during the check`);
  return `edited services/${CHANGED}/src/main.ts: rebuilt ${changed.join(', ')}; identical image ids for ${reused.join(', ')}`;
}

interface Compose {
  env: NodeJS.ProcessEnv;
  edgeUrl: string;
  services: string[];
}

async function composeEnv(socket: string): Promise<Compose> {
  const keys = await generateTestKeys();
  const edgePort = await freePort();
  const services = [
    'mongo',
    'redis',
    'auth',
    'chat-api',
    'gateway-1',
    'gateway-2',
    'realtime-1',
    'realtime-2',
    'realtime-3',
    'nginx',
  ];
  if (hasAssistant()) services.splice(0, 0, 'fake-model', 'assistant-1', 'assistant-2');
  return {
    env: {
      ...engineEnv,
      DOCKER_HOST: `unix://${socket}`,
      COMPOSE_PROJECT_NAME: PROJECT,
      EDGE_PORT: String(edgePort),
      JWT_PRIVATE_KEY: keys.access.privateKeyPem,
      GATEWAY_INTERNAL_SIGNING_KEY: keys.gatewayIdentity.privateKeyPem,
      REALTIME_INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
      ASSISTANT_INTERNAL_SIGNING_KEY: keys.assistantIdentity.privateKeyPem,
      INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
      REDIS_PASSWORD: `ct${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`,
    },
    edgeUrl: `http://127.0.0.1:${edgePort}`,
    services,
  };
}

const compose = (c: Compose, args: string[], timeoutMs = 10 * 60_000) =>
  runOk('docker-compose', [...COMPOSE_FILES, ...args], { cwd: CONTEXT, env: c.env, timeoutMs });

async function projectContainers(): Promise<ContainerState[]> {
  const ids = (await podman(['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`]))
    .split('\n')
    .filter(Boolean);
  return Promise.all(ids.map((id) => containerState(id)));
}

async function checkContainers(): Promise<ContainerState[]> {
  const states = await projectContainers();
  const problems: string[] = [];
  for (const s of states) {
    if (!s.running) problems.push(`${s.service} is not running`);
    const probe = await run('podman', ['healthcheck', 'run', s.name], { env: engineEnv, timeoutMs: 15_000 });
    if (probe.code !== 0) problems.push(`${s.service}: healthcheck failed (${probe.stdout.trim()})`);
    if (!(s.processUid > 0)) problems.push(`${s.service}: runs as uid ${s.processUid}`);
  }
  if (problems.length) throw new Error(problems.join('; '));
  return states;
}

/** realtime_connected_sockets of each running realtime replica, read inside its container. */
async function socketsPerReplica(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const replica of ['realtime-1', 'realtime-2', 'realtime-3']) {
    const res = await run(
      'podman',
      [
        'exec',
        `${PROJECT}_${replica}_1`,
        'node',
        '-e',
        "fetch('http://127.0.0.1:3003/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))",
      ],
      { env: engineEnv, timeoutMs: 10_000 },
    );
    if (res.code !== 0) continue;
    const line = res.stdout.split('\n').find((l) => /^realtime_connected_sockets(\{| )/.test(l));
    counts[replica] = line ? Number(line.trim().split(/\s+/).pop()) : 0;
  }
  return counts;
}

function report(images: BuiltImage[], states: ContainerState[], chat: ChatFindings | undefined): void {
  const lines = [
    `## Container test, ${new Date().toISOString()} (${((Date.now() - started) / 1000).toFixed(0)} s in all)`,
    '',
    '| step | seconds | result |',
    '| --- | --- | --- |',
    ...steps.map(
      (s) =>
        `| ${s.name} | ${s.seconds.toFixed(1)} | ${s.ok ? 'passed' : 'FAILED'}: ${s.detail.replace(/\n/g, ' ').slice(0, 300)} |`,
    ),
    '',
    '| image | size | build s | USER | HEALTHCHECK |',
    '| --- | --- | --- | --- | --- |',
    ...images.map(
      (i) =>
        `| ${i.name} | ${mib(i.sizeBytes)} | ${i.seconds.toFixed(0)} | ${i.user || 'root'} | ${i.healthcheck.length ? 'yes' : 'no'} |`,
    ),
    '',
    '| container | health | uid of its main process |',
    '| --- | --- | --- |',
    ...states.map((s) => `| ${s.service} | ${s.health} | ${s.processUid} |`),
    ...(chat ? ['', '```json', JSON.stringify(chat, null, 2), '```'] : []),
    ...(skipped.length ? ['', ...skipped.map((s) => `Skipped: ${s}`)] : []),
  ];
  mkdirSync(WORK, { recursive: true });
  writeFileSync(join(WORK, 'last-run.md'), `${lines.join('\n')}\n`);
  process.stdout.write(`\n${lines.join('\n')}\n\n(written to ${join(WORK, 'last-run.md')})\n`);
}

async function main(): Promise<void> {
  let images: BuiltImage[] = [];
  let states: ContainerState[] = [];
  let chat: ChatFindings | undefined;
  let failed = false;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    await step('tools present', requireTools, () => 'podman, docker-compose, debootstrap, runc, netavark');
    await step(
      'registry stand-ins (node:20-bookworm-slim, redis:7-alpine, nginx:1.27-alpine)',
      () =>
        runOk(join(REPO_ROOT, 'deploy/containers/stand-ins/build-stand-ins.sh'), [], {
          env: engineEnv,
          timeoutMs: 15 * 60_000,
        }),
      (out) => out.trim().split('\n').join('; '),
    );
    // CT_REUSE_CONTEXT=1: build from the last snapshot again (a re-run hits the layer cache while others edit).
    if (process.env.CT_REUSE_CONTEXT === '1' && existsSync(CONTEXT))
      skipped.push(`CT_REUSE_CONTEXT=1: built from the existing snapshot ${CONTEXT}`);
    else
      await step(
        'snapshot of the build context',
        async () => snapshotContext(),
        () => CONTEXT,
      );
    if (!hasAssistant())
      skipped.push(
        'services/assistant does not exist yet (no package.json): its image and the assistant-1/2 containers were not built or started',
      );
    images = await step('build every image from its unchanged Dockerfile', buildAll, (built) =>
      built.map((i) => `${i.name} ${mib(i.sizeBytes)}`).join(', '),
    );
    await step(
      'a change in one service rebuilds only its image',
      () => layerIsolation(images),
      (d) => d,
    );

    const api = await step(
      'podman API socket for docker-compose',
      () => startApiService(join(WORK, 'api')),
      (a) => a.socket,
    );
    cleanups.push(api.stop);
    const stopHealth = startHealthDriver(PROJECT);
    cleanups.push(stopHealth);
    const c = await composeEnv(api.socket);
    await run('docker-compose', [...COMPOSE_FILES, 'down', '-v', '--remove-orphans'], {
      cwd: CONTEXT,
      env: c.env,
    });
    if (process.env.KEEP_UP !== '1')
      cleanups.push(() =>
        run('docker-compose', [...COMPOSE_FILES, 'down', '-v', '--remove-orphans'], {
          cwd: CONTEXT,
          env: c.env,
          timeoutMs: 120_000,
        }),
      );
    await step(
      'docker-compose config (compose file + test override)',
      () => compose(c, ['config', '-q']),
      () => 'valid',
    );
    await step(
      'docker-compose up (waits for healthy dependencies)',
      () => compose(c, ['up', '-d', '--no-build', ...c.services]),
      () => c.services.join(', '),
    );
    states = await step(
      'every container running, healthy, non-root',
      () => waitFor(checkContainers, 120_000, 2000),
      (s) => s.map((x) => `${x.service}:${x.health}:uid ${x.processUid}`).join(', '),
    );
    await step(
      'through the edge: the first call that crosses every service (register, create a group, handshake, send)',
      () => firstCallsThroughEdge(c.edgeUrl, 120_000),
      (f) =>
        `answered ${f.seconds.toFixed(1)} s after every container was healthy (${f.attempts} attempts)` +
        (f.failures.length > 0 ? `; before that: ${f.failures.slice(0, 3).join('; ')}` : ''),
    );
    const { findings, session } = await step(
      'through the edge: register, log in, chat across replicas, stop one replica, clients recover',
      () =>
        chatThroughEdge(c.edgeUrl, socketsPerReplica, async (replica) => {
          await compose(c, ['stop', replica]);
        }),
      ({ findings: f }) =>
        `sockets ${JSON.stringify(f.socketsPerReplica)}; stopped ${f.stoppedReplica} (${f.socketsOnStoppedReplica} sockets); ` +
        `each back within ${f.recoverySeconds.toFixed(1)} s of its disconnect, on ${JSON.stringify(f.socketsAfterRecovery)} ` +
        `(docker-compose stop took ${f.stopCommandSeconds.toFixed(1)} s); missing after sync: ${f.missingAfterSync}`,
    );
    chat = findings;
    if (hasAssistant())
      await step(
        'through the edge: the assistant (test model) summarises the chat and answers @cohortgpt once',
        () => assistantThroughEdge(c.edgeUrl, session, FAKE_MODEL_TEXT),
        (a) =>
          `enabled, model ${JSON.stringify(a.model)}; summary "${a.summary.slice(0, 80)}"; ` +
          `answer stored ${a.answerSeconds.toFixed(1)} s after the question, ${a.deltas} ai:delta events to the other member, ${a.answers} answer`,
      );
  } catch {
    failed = true;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
  report(images, states, chat);
  process.exit(failed ? 1 : 0);
}

void main();
