import { Query } from 'mingo';
import type { Doc } from '../engine/document';
import { MongoCommandError } from '../engine/errors';
import { idFirst } from '../engine/update';

/** Applies a find projection (mingo semantics, positional `$` resolved against the filter). */
export function project(docs: readonly Doc[], projection: Doc | undefined, filter: Doc = {}): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs as Doc[];
  const positional = Object.keys(projection).some((k) => k.endsWith('.$'));
  try {
    const projected = new Query(positional ? filter : {}).find(docs, projection).all() as Doc[];
    return projected.map(idFirst);
  } catch (err) {
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
}
