import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKeys, type TestKeys } from '../keys';
import { withDatabase } from '../mongo';
import { freePort, waitFor } from '../ports';
import { startRedisServer, type RedisServer } from '../redis-server';
import {
  REPO_ROOT,
  spawnNodeProcess,
  spawnService,
  type ServiceName,
  type ServiceProcess,
} from '../service-process';
import { renderCohortConf, renderStandaloneNginxConf } from './nginx-config';

export interface ClusterOptions {
  realtimeReplicas?: number;
  /** Assistant replicas (DESIGN §7); 2 by default, as in docker-compose.yml. */
  assistantReplicas?: number;
  gateways?: number;
  /** nginx's port (0 = a free one). */
  port?: number;
  /** A real MongoDB; the embedded store (its own process) otherwise. */
  mongoUrl?: string;
  /** Where the embedded store keeps its data; in memory when absent. */
  dataDir?: string;
  /** Extra environment for every service (for example raised rate limits for load tests). */
  env?: Record<string, string>;
  webRoot?: string;
}

export interface NginxProcess {
  readonly child: ChildProcess;
  readonly prefix: string;
  stop(): Promise<void>;
}

export interface Cluster {
  readonly url: string;
  readonly port: number;
  readonly keys: TestKeys;
  readonly redis: RedisServer;
  readonly mongoUrl: string;
  readonly auth: ServiceProcess;
  readonly chatApi: ServiceProcess;
  readonly realtime: ServiceProcess[];
  readonly assistants: ServiceProcess[];
  readonly gateways: ServiceProcess[];
  readonly nginx: NginxProcess;
  /**
   * Starts a service process again exactly as the cluster started it (same environment, same port), with `env`
   * on top: for restarts under load and for a chat-api behind a proxy. The process it replaces (`auth`,
   * `chat-api`, `realtime-N`, `assistant-N`, `gateway-N`) must be gone first; the caller stops what this returns.
   */
  respawn(label: string, env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

const NGINX_BIN = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

/**
 * The cluster topology of docker-compose.yml as processes on one machine: real redis-server, real nginx with
 * the repository's config rendered for local ports, the embedded store (or MONGO_URL), auth, chat-api,
 * several realtime replicas and gateways. Used by `npm run cluster`, the cluster tests and the benchmarks.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const replicaCount = options.realtimeReplicas ?? 3;
  const assistantCount = options.assistantReplicas ?? 2;
  const gatewayCount = options.gateways ?? 2;
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const item of started.reverse()) {
      await item.stop().catch(() => undefined);
    }
  };

  try {
    const keys = await generateTestKeys();
    // As in docker-compose.yml: Redis requires a password, so no other local user can publish forged events.
    const redis = await startRedisServer({ password: randomBytes(18).toString('base64url') });
    started.push({ stop: () => redis.close() });

    let mongoUrl: string;
    const storePassword = randomBytes(18).toString('base64url');
    if (options.mongoUrl) {
      mongoUrl = options.mongoUrl;
    } else {
      const mongo = await spawnNodeProcess({
        entry: join(__dirname, 'embedded-mongo.ts'),
        label: 'mongo',
        env: {
          // Only Node's own options (profilers, heap snapshots) reach the store: it keeps its log level.
          ...(options.env?.NODE_OPTIONS ? { NODE_OPTIONS: options.env.NODE_OPTIONS } : {}),
          ...(options.env?.BENCH_PROFILE_DIR ? { BENCH_PROFILE_DIR: options.env.BENCH_PROFILE_DIR } : {}),
          ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}),
          STORE_USERNAME: 'cohort',
          STORE_PASSWORD: storePassword,
        },
      });
      started.push(mongo);
      mongoUrl = withDatabase(
        `mongodb://cohort:${storePassword}@127.0.0.1:${mongo.port}/?authSource=admin`,
        'cohort',
      );
    }

    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      REDIS_URL: redis.url,
      ...options.env,
    };
    const internalJwks = JSON.stringify(keys.internalJwks);
    // What each service was started with, so a restart is the same process again.
    const launched = new Map<string, { service: ServiceName; env: Record<string, string> }>();
    const launch = async (service: ServiceName, label: string, env: Record<string, string>) => {
      const started = await spawnService({ service, label, env });
      launched.set(label, { service, env: { ...env, PORT: String(started.port) } });
      return started;
    };
    // auth asks chat-api whose emails a searcher may see, and chat-api asks auth whether users exist: chat-api's
    // port is chosen first so auth, which starts first, can be told it.
    const chatApiPort = await freePort();

    const auth = await launch('auth', 'auth', {
      ...common,
      MONGO_URL: mongoUrl,
      JWT_PRIVATE_KEY: keys.access.privateKeyPem,
      INTERNAL_JWKS: internalJwks,
      CHAT_API_URL: `http://127.0.0.1:${chatApiPort}`,
    });
    started.push(auth);
    const chatApi = await launch('chat-api', 'chat-api', {
      ...common,
      MONGO_URL: mongoUrl,
      INTERNAL_JWKS: internalJwks,
      AUTH_URL: auth.url,
      PORT: String(chatApiPort),
    });
    started.push(chatApi);

    const realtime = await Promise.all(
      Array.from({ length: replicaCount }, (_, i) =>
        launch('realtime', `realtime-${i + 1}`, {
          ...common,
          REPLICA_ID: `realtime-${i + 1}`,
          JWKS_URL: `${auth.url}/api/auth/jwks.json`,
          INTERNAL_SIGNING_KEY: keys.realtimeIdentity.privateKeyPem,
          CHAT_API_URL: chatApi.url,
        }),
      ),
    );
    started.push(...realtime);
    // The model comes from the environment the cluster is started in (AI_BASE_URL, AI_MODEL, …; options.env
    // wins); without one the assistant answers that it is not configured.
    const aiEnv = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] => entry[0].startsWith('AI_') && entry[1] !== undefined,
      ),
    );
    const assistants = await Promise.all(
      Array.from({ length: assistantCount }, (_, i) =>
        launch('assistant', `assistant-${i + 1}`, {
          ...aiEnv,
          ...common,
          REPLICA_ID: `assistant-${i + 1}`,
          CHAT_API_URL: chatApi.url,
          AUTH_URL: auth.url,
          INTERNAL_JWKS: internalJwks,
          INTERNAL_SIGNING_KEY: keys.assistantIdentity.privateKeyPem,
        }),
      ),
    );
    started.push(...assistants);
    const gateways = await Promise.all(
      Array.from({ length: gatewayCount }, (_, i) =>
        launch('gateway', `gateway-${i + 1}`, {
          ...common,
          // nginx is in front and the only listener beyond loopback: the gateways bind loopback and take the
          // client's address from nginx, as in docker-compose.yml.
          HOST: '127.0.0.1',
          TRUST_PROXY: 'true',
          AUTH_URL: auth.url,
          CHAT_API_URL: chatApi.url,
          JWKS_URL: `${auth.url}/api/auth/jwks.json`,
          INTERNAL_SIGNING_KEY: keys.gatewayIdentity.privateKeyPem,
          // Each gateway has one assistant replica for /api/assistant and catch-me-up (compose resolves one name
          // to every replica instead); the answers themselves never pass through a gateway.
          ...(assistants.length > 0 ? { ASSISTANT_URL: assistants[i % assistants.length]!.url } : {}),
        }),
      ),
    );
    started.push(...gateways);

    const port = options.port || (await freePort());
    const nginx = await startNginx({
      listen: `127.0.0.1:${port}`,
      realtime: realtime.map((r) => `127.0.0.1:${r.port}`),
      gateways: gateways.map((g) => `127.0.0.1:${g.port}`),
      webRoot: options.webRoot ?? join(REPO_ROOT, 'apps', 'web', 'dist'),
    });
    started.push(nginx);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => {
      const res = await fetch(`${url}/api/auth/jwks.json`);
      if (!res.ok) throw new Error(`edge not ready: ${res.status}`);
    }, 15_000);

    const respawn = (label: string, env: Record<string, string> = {}) => {
      const spec = launched.get(label);
      if (!spec) return Promise.reject(new Error(`no service ${label} in this cluster`));
      return spawnService({ service: spec.service, label, env: { ...spec.env, ...env } });
    };
    return {
      url,
      port,
      keys,
      redis,
      mongoUrl,
      auth,
      chatApi,
      realtime,
      assistants,
      gateways,
      nginx,
      respawn,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Starts nginx in the foreground with a config and temp paths under a fresh prefix directory. */
export async function startNginx(render: Parameters<typeof renderCohortConf>[0]): Promise<NginxProcess> {
  const prefix = mkdtempSync(join(tmpdir(), 'cohort-nginx-'));
  // nginx's workers drop to an unprivileged user when started as root: they must be able to buffer to disk.
  chmodSync(prefix, 0o755);
  for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(prefix, dir), { mode: 0o777 });
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, renderStandaloneNginxConf(prefix, renderCohortConf(render)));
  const child = spawn(NGINX_BIN, ['-p', prefix, '-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const [host, port] = render.listen.split(':');
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    await fetch(`http://${host}:${port}/healthz`);
  }, 10_000);
  return {
    child,
    prefix,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
