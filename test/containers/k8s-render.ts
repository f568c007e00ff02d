import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const K8S_DIR = join(__dirname, '..', '..', 'deploy', 'k8s');

/** A rendered Kubernetes object: the fields the invariants read, the rest kept as it came. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** `kustomize build` if installed, else kubectl's built-in kustomize; null when neither exists. */
function renderer(): string[] | null {
  if (spawnSync('kustomize', ['version']).status === 0) return ['kustomize', 'build'];
  if (spawnSync('kubectl', ['kustomize', '--help']).status === 0) return ['kubectl', 'kustomize'];
  return null;
}

/**
 * Renders an overlay as a deployer would: a copy of deploy/k8s with the (never committed) secret files written
 * by write-secrets.ts, then `kustomize build`.
 */
export function renderOverlay(overlay: string): K8sObject[] {
  const command = renderer();
  if (!command)
    throw new Error(
      'neither kustomize nor kubectl is installed: install kubectl (it has kustomize built in)',
    );
  const dir = mkdtempSync(join(tmpdir(), 'cohort-k8s-'));
  try {
    cpSync(K8S_DIR, dir, { recursive: true });
    // The deployer's tool itself, as the README runs it.
    const written = spawnSync(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        join(K8S_DIR, 'write-secrets.ts'),
        join(dir, 'overlays', overlay, 'secrets'),
        'redis://:test-password@redis-master.redis.svc.cluster.local:6379',
        'mongodb://cohort:test@cohort-mongo-svc.mongodb.svc.cluster.local:27017/cohort?replicaSet=cohort-mongo&authSource=admin',
      ],
      { encoding: 'utf8', cwd: join(K8S_DIR, '..', '..') },
    );
    if (written.status !== 0) throw new Error(`write-secrets.ts failed: ${written.stderr}`);
    const [bin, ...args] = command;
    const result = spawnSync(bin!, [...args, join(dir, 'overlays', overlay)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr}`);
    return parseAllDocuments(result.stdout).map((doc) => doc.toJSON() as K8sObject);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Schema failures ({kind, name, error}) from validate-k8s.mjs (kubernetes-models, ESM only: a child process). */
export function schemaFailures(objects: K8sObject[]): Array<{ kind: string; name: string; error: string }> {
  const result = spawnSync(process.execPath, [join(__dirname, 'validate-k8s.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`validate-k8s.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Array<{ kind: string; name: string; error: string }>;
}
