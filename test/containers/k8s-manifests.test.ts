import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { K8S_DIR, renderOverlay, schemaFailures, type K8sObject } from './k8s-render';

/**
 * Issue 21: the Kustomize overlays render, every object validates against the Kubernetes API schemas
 * (kubernetes-models, offline), and the deployment invariants hold.
 */
const REPO = join(__dirname, '..', '..');
const SERVICES = { auth: 3001, 'chat-api': 3002, gateway: 3000, realtime: 3003, assistant: 3004 } as const;
type Service = keyof typeof SERVICES;
const WORKLOADS = [...Object.keys(SERVICES), 'web'];
const NAMESPACES = { dev: 'cohort-dev', prod: 'cohort' } as const;

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
}
interface DeploymentSpec {
  replicas?: number;
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      containers: Container[];
      terminationGracePeriodSeconds?: number;
      securityContext?: { runAsNonRoot?: boolean };
    };
  };
}
interface PolicyPeer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
}
interface PolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: Array<{ from?: PolicyPeer[]; ports?: Array<{ port?: number | string }> }>;
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const deployment = (objects: K8sObject[], name: string) =>
  find(objects, 'Deployment', name).spec as unknown as DeploymentSpec;
const container = (objects: K8sObject[], name: string) =>
  deployment(objects, name).template.spec.containers[0]!;

const cpu = (v: string) => (v.endsWith('m') ? Number(v.slice(0, -1)) : Number(v) * 1000);
const mem = (v: string) => {
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  const unit = v.slice(-2);
  return units[unit] ? Number(v.slice(0, -2)) * units[unit] : Number(v);
};
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

/** Whether NetworkPolicies let a pod (namespace + labels) reach `target` on `port` (its named port `http`). */
function reachable(
  policies: PolicySpec[],
  source: { namespace: string; labels: Record<string, string> },
  target: { namespace: string; labels: Record<string, string>; port: number },
): boolean {
  const selecting = policies.filter(
    (p) =>
      (p.policyTypes ?? ['Ingress']).includes('Ingress') && matches(p.podSelector.matchLabels, target.labels),
  );
  if (!selecting.length) return true;
  const nsLabels = { 'kubernetes.io/metadata.name': source.namespace };
  return selecting.some((p) =>
    (p.ingress ?? []).some((rule) => {
      const portOk = !rule.ports || rule.ports.some((pt) => pt.port === target.port || pt.port === 'http');
      const peerOk =
        !rule.from ||
        rule.from.some((peer) => {
          const nsOk = peer.namespaceSelector
            ? matches(peer.namespaceSelector.matchLabels, nsLabels)
            : source.namespace === target.namespace;
          const podOk = peer.podSelector ? matches(peer.podSelector.matchLabels, source.labels) : true;
          return nsOk && podOk;
        });
      return portOk && peerOk;
    }),
  );
}

/** Environment names docker-compose.yml gives a service (anchors and merge keys resolved). */
function composeEnv(service: string): string[] {
  const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, unknown> }>;
  };
  return Object.keys(compose.services[service]?.environment ?? {});
}

describe.each(Object.entries(NAMESPACES))('deploy/k8s/overlays/%s', (overlay, namespace) => {
  let objects: K8sObject[];
  beforeAll(() => {
    objects = renderOverlay(overlay);
  }, 60_000);

  it('renders, and every object validates against the Kubernetes API schemas', () => {
    expect(objects.length).toBeGreaterThan(30);
    expect(schemaFailures(objects)).toEqual([]);
  });

  it('puts everything in its namespace and pins every image tag', () => {
    for (const o of objects)
      if (o.kind !== 'Namespace')
        expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(
          `${o.kind}/${o.metadata.name} in ${namespace}`,
        );
    for (const d of byKind(objects, 'Deployment'))
      for (const c of (d.spec as unknown as DeploymentSpec).template.spec.containers)
        expect(c.image).toMatch(/^cohortgpt\/[a-z-]+:\d+\.\d+\.\d+$/);
  });

  it.each(WORKLOADS)(
    '%s: probes on /readyz and /healthz, no unavailable replica while rolling, a PDB, resources',
    (name) => {
      const spec = deployment(objects, name);
      const c = container(objects, name);
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(spec.strategy?.type).toBe('RollingUpdate');
      expect(spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      const pdb = find(objects, 'PodDisruptionBudget', name).spec as {
        selector: { matchLabels: Record<string, string> };
      };
      expect(matches(pdb.selector.matchLabels, spec.template.metadata.labels)).toBe(true);
      expect(spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
      const { requests, limits } = c.resources ?? {};
      for (const key of ['cpu', 'memory']) {
        expect(requests?.[key]).toBeDefined();
        expect(limits?.[key]).toBeDefined();
      }
      expect(cpu(limits!.cpu!)).toBeGreaterThanOrEqual(cpu(requests!.cpu!));
      expect(mem(limits!.memory!)).toBeGreaterThanOrEqual(mem(requests!.memory!));
      const service = find(objects, 'Service', name).spec as { selector: Record<string, string> };
      expect(matches(service.selector, spec.template.metadata.labels)).toBe(true);
    },
  );

  it.each(Object.keys(SERVICES))(
    '%s runs as non-root and gets every variable docker-compose.yml gives it',
    (name) => {
      const spec = deployment(objects, name);
      expect(spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
      const c = container(objects, name);
      const config = find(objects, 'ConfigMap', c.envFrom?.[0]?.configMapRef?.name ?? '');
      const k8sNames = new Set([...(c.env ?? []).map((e) => e.name), ...Object.keys(config.data ?? {})]);
      const composeName =
        name === 'gateway' || name === 'realtime' || name === 'assistant' ? `${name}-1` : name;
      const missing = composeEnv(composeName).filter((n) => !k8sNames.has(n));
      expect(missing).toEqual([]);
      expect(c.ports?.[0]?.containerPort).toBe(SERVICES[name as Service]);
    },
  );

  it('keys come from one generated Secret holding every key the Deployments ask for; none is committed', () => {
    const secrets = byKind(objects, 'Secret');
    expect(secrets).toHaveLength(1);
    const secret = secrets[0]!;
    expect(secret.metadata.name).toMatch(/^cohort-keys-[a-z0-9]+$/);
    for (const d of byKind(objects, 'Deployment'))
      for (const c of (d.spec as unknown as DeploymentSpec).template.spec.containers)
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref || ref.optional) continue;
          expect(`${d.metadata.name}: ${ref.name}/${ref.key}`).toBe(
            `${d.metadata.name}: ${secret.metadata.name}/${ref.key}`,
          );
          expect(Object.keys(secret.data ?? {})).toContain(ref.key);
        }
    const jwks = JSON.parse(Buffer.from(secret.data!.INTERNAL_JWKS!, 'base64').toString()) as {
      keys: unknown[];
    };
    expect(jwks.keys).toHaveLength(3); // gateway, realtime and assistant forward identities
  });

  it('network policies: only the ingress controller reaches the public services; internal ones only their callers', () => {
    const policies = byKind(objects, 'NetworkPolicy').map((p) => p.spec as unknown as PolicySpec);
    const pod = (name: string) => ({
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/part-of': 'cohortgpt',
    });
    const sources: Record<string, { namespace: string; labels: Record<string, string> }> = {
      'ingress-nginx': { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      'other pod in the namespace': { namespace, labels: { app: 'debug' } },
      'pod elsewhere': { namespace: 'default', labels: {} },
      ...Object.fromEntries(WORKLOADS.map((w) => [w, { namespace, labels: pod(w) }])),
    };
    const ports: Record<string, number> = { ...SERVICES, web: 8080 };
    const matrix: Record<string, string[]> = {};
    for (const [from, source] of Object.entries(sources))
      matrix[from] = WORKLOADS.filter((to) =>
        reachable(policies, source, { namespace, labels: pod(to), port: ports[to]! }),
      );
    expect(matrix).toEqual({
      'ingress-nginx': ['gateway', 'realtime', 'web'],
      'other pod in the namespace': [],
      'pod elsewhere': [],
      auth: ['chat-api'],
      'chat-api': ['auth'],
      gateway: ['auth', 'chat-api', 'assistant'],
      realtime: ['auth', 'chat-api'],
      assistant: ['auth', 'chat-api'],
      web: [],
    });
    // Prometheus may scrape every service (the autoscaler's metric).
    const prometheus = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
    for (const w of WORKLOADS)
      expect(reachable(policies, prometheus, { namespace, labels: pod(w), port: ports[w]! })).toBe(true);
  });

  it('the Ingress sticks Socket.IO on the key nginx hashes on, and routes the API to the gateway', () => {
    const template = readFileSync(join(REPO, 'nginx', 'cohort.conf.template'), 'utf8');
    const arg = /map \$arg_(\w+) \$cohort_sticky_cid/.exec(template)?.[1];
    const cookie = /''\s+\$cookie_(\w+);/.exec(template)?.[1];
    expect([arg, cookie]).toEqual(['cid', 'token']);
    const ingresses = byKind(objects, 'Ingress');
    const routes = ingresses.flatMap((i) =>
      (
        i.spec as {
          rules: Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }>;
        }
      ).rules.flatMap((r) =>
        r.http.paths.map((p) => ({ ingress: i, path: p.path, service: p.backend.service.name })),
      ),
    );
    const socketRoute = routes.find((r) => r.path === '/socket.io/');
    expect(socketRoute?.service).toBe('realtime');
    const hashBy =
      socketRoute?.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/upstream-hash-by'] ?? '';
    expect(hashBy.startsWith(`$arg_${arg}`)).toBe(true);
    expect(hashBy).toContain(`$cookie_${cookie}`);
    expect(
      Number(socketRoute?.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']),
    ).toBeGreaterThan(45);
    expect(routes.find((r) => r.path === '/api/')?.service).toBe('gateway');
    expect(routes.find((r) => r.path === '/')?.service).toBe('web');
    for (const i of ingresses)
      expect((i.spec as { ingressClassName?: string }).ingressClassName).toBe('nginx');
  });

  it('realtime drains before it stops: preStop, then its own shutdown, all inside the grace period', () => {
    const spec = deployment(objects, 'realtime');
    const c = container(objects, 'realtime');
    const sleep = Number(c.lifecycle?.preStop?.exec?.command?.[1]);
    expect(sleep).toBeGreaterThan(0);
    const config = find(objects, 'ConfigMap', c.envFrom![0]!.configMapRef!.name).data!;
    const readyDelay = Number(config.SHUTDOWN_READY_DELAY_MS) / 1000;
    const shutdown = Number(c.env?.find((e) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value) / 1000;
    expect(readyDelay).toBeGreaterThan(0);
    expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(sleep + readyDelay + shutdown);
  });

  it('realtime autoscales on the connected-sockets metric it exports, per pod, in this namespace', () => {
    const metrics = readFileSync(join(REPO, 'services', 'realtime', 'src', 'metrics.ts'), 'utf8');
    expect(metrics).toContain("name: 'realtime_connected_sockets'");
    const scaled = find(objects, 'ScaledObject', 'realtime').spec as {
      scaleTargetRef: { name: string };
      minReplicaCount: number;
      maxReplicaCount: number;
      triggers: Array<{ type: string; metricType?: string; metadata: { query: string; threshold: string } }>;
    };
    expect(scaled.scaleTargetRef.name).toBe('realtime');
    expect(scaled.minReplicaCount).toBeGreaterThanOrEqual(2);
    expect(scaled.maxReplicaCount).toBeGreaterThan(scaled.minReplicaCount);
    const [trigger] = scaled.triggers;
    expect(trigger?.type).toBe('prometheus');
    expect(trigger?.metricType).toBe('AverageValue');
    expect(trigger?.metadata.query).toContain('realtime_connected_sockets{');
    expect(trigger?.metadata.query).toContain(`namespace="${namespace}"`);
    expect(Number(trigger?.metadata.threshold)).toBeGreaterThan(0);
    expect(byKind(objects, 'HorizontalPodAutoscaler')).toHaveLength(0); // KEDA owns realtime's HPA
    const monitor = find(objects, 'PodMonitor', 'cohortgpt').spec as { podTargetLabels?: string[] };
    expect(monitor.podTargetLabels).toContain('app.kubernetes.io/name');
  });
});

describe('deploy/k8s sources', () => {
  it('commit no Secret object and no key material', () => {
    const files = readdirSync(K8S_DIR, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(`${file}: ${/PRIVATE KEY-----|^kind: Secret$/m.test(text)}`).toBe(`${file}: false`);
    }
  });
});
