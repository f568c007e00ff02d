// Validates Kubernetes objects (a JSON array on stdin) against the API's OpenAPI schemas, offline, with
// kubernetes-models (core/apps/policy/networking…) and its KEDA and prometheus-operator packages.
// ESM because those packages are ESM only; k8s-manifests.test.ts runs it as a child process.
// Prints a JSON array of { kind, name, error } for every object that does not validate.
const packages = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!group) return `kubernetes-models/${version}/${kind}`;
  return `${packages[group] ?? 'kubernetes-models'}/${group}/${version}/${kind}`;
}

/**
 * kustomize wraps long base64 values of a Secret over several lines; the API server's decoder (Go's base64)
 * skips line breaks, the schema's `byte` format does not: compare them as the server reads them.
 */
function normalize(object) {
  if (object.kind !== 'Secret' || !object.data) return object;
  const data = Object.fromEntries(
    Object.entries(object.data).map(([k, v]) => [k, String(v).replace(/[\r\n]/g, '')]),
  );
  return { ...object, data };
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const failures = [];
for (const object of JSON.parse(input)) {
  const name = object?.metadata?.name ?? '?';
  try {
    const mod = await import(modulePath(object.apiVersion, object.kind));
    const Model = mod[object.kind] ?? mod.default;
    if (!Model) throw new Error(`no model for ${object.apiVersion} ${object.kind}`);
    new Model(normalize(object)).validate();
  } catch (error) {
    failures.push({ kind: object.kind, name, error: String(error?.message ?? error).slice(0, 2000) });
  }
}
process.stdout.write(JSON.stringify(failures));
