import { compareValues } from './bson-order';
import { type Doc, pathValues } from './document';
import type { SortSpec } from './planner';

/** The sort field that stands for `{$meta: 'textScore'}` (best score first, whatever its name). */
export const TEXT_SCORE_SORT = '$meta:textScore';

/** Parses a sort document ({a: 1, b: -1}) into a spec. */
export function parseSort(sort: unknown): SortSpec | undefined {
  if (!sort || typeof sort !== 'object') return undefined;
  const spec: Array<readonly [string, 1 | -1]> = [];
  for (const [field, dir] of Object.entries(sort as Doc)) {
    // {$meta: 'textScore'} sorts by the text score; other {$meta: …} sorts are accepted and ignored.
    if (typeof dir === 'object') {
      if (dir !== null && (dir as Doc).$meta === 'textScore') spec.push([TEXT_SCORE_SORT, -1]);
      continue;
    }
    spec.push([field, Number(dir) < 0 ? -1 : 1]);
  }
  return spec.length > 0 ? spec : undefined;
}

/** The value a document sorts by: arrays sort by their smallest (asc) or largest (desc) element. */
export function sortKey(doc: Doc, parts: readonly string[], dir: 1 | -1): unknown {
  const { values } = pathValues(doc, parts);
  let best: unknown = values[0] === undefined ? null : values[0];
  for (let i = 1; i < values.length; i++) {
    const v = values[i] === undefined ? null : values[i];
    const c = compareValues(v, best);
    if ((dir > 0 && c < 0) || (dir < 0 && c > 0)) best = v;
  }
  return best;
}

/** Sorts documents in MongoDB's order (stable). */
export function sortDocs(docs: readonly Doc[], spec: SortSpec): Doc[] {
  const specs = spec.map(([field, dir]) => ({ parts: field.split('.'), dir }));
  const keyed = docs.map((doc, i) => ({ doc, i, keys: specs.map((s) => sortKey(doc, s.parts, s.dir)) }));
  keyed.sort((a, b) => {
    for (let k = 0; k < specs.length; k++) {
      const c = compareValues(a.keys[k], b.keys[k]);
      if (c !== 0) return c * (specs[k] as { dir: number }).dir;
    }
    return a.i - b.i;
  });
  return keyed.map((k) => k.doc);
}
