/** Documents as the store holds them: plain objects from `bson`, never mutated once stored. */
export type Doc = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Deep copy of plain objects and arrays; BSON values (ObjectId, Binary, …) are shared, Dates copied. */
export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => deepClone(x)) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const k of Object.keys(v)) out[k] = deepClone(v[k]);
    return out as T;
  }
  return v;
}

/** Values at a dotted path, descending into arrays as MongoDB does for indexes. */
export function pathValues(
  doc: unknown,
  parts: readonly string[],
  from = 0,
): { values: unknown[]; multikey: boolean } {
  const out: unknown[] = [];
  let multikey = false;
  const walk = (node: unknown, i: number): void => {
    if (i === parts.length) {
      if (Array.isArray(node)) {
        multikey = true;
        if (node.length === 0) out.push(undefined);
        else for (const el of node) out.push(el);
      } else out.push(node);
      return;
    }
    if (Array.isArray(node)) {
      multikey = true;
      const part = parts[i] as string;
      if (/^\d+$/.test(part)) {
        const el: unknown = node[Number(part)];
        if (el !== undefined) walk(el, i + 1);
      }
      for (const el of node) {
        if (isPlainObject(el)) walk(el, i);
      }
      return;
    }
    if (node === null || typeof node !== 'object') {
      out.push(undefined);
      return;
    }
    const next = (node as Doc)[parts[i] as string];
    if (next === undefined) {
      out.push(undefined);
      return;
    }
    walk(next, i + 1);
  };
  walk(doc, from);
  if (out.length === 0) out.push(undefined);
  return { values: out, multikey };
}

/** The value at a dotted path without array expansion (undefined when absent). */
export function getPath(doc: unknown, path: string): unknown {
  let node: unknown = doc;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Doc)[part];
  }
  return node;
}

/** Sets a dotted path, creating intermediate objects. */
export function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const next = node[part];
    if (isPlainObject(next)) node = next;
    else {
      const created: Doc = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1] as string] = value;
}
