import { Query } from 'mingo';
import type { Doc } from '../engine/document';
import { MongoCommandError } from '../engine/errors';
import { idFirst } from '../engine/update';
import { isTextScoreMeta, noTextScore } from './text-score';

/**
 * Applies a find projection (mingo semantics, positional `$` resolved against the filter).
 * `{field: {$meta: 'textScore'}}` adds the text score of a `$text` query (40218 without one); as in
 * MongoDB it neither includes nor excludes other fields.
 */
export function project(
  docs: readonly Doc[],
  projection: Doc | undefined,
  filter: Doc = {},
  textScores?: ReadonlyMap<Doc, number>,
): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs as Doc[];
  const metaFields = Object.keys(projection).filter((k) => isTextScoreMeta(projection[k]));
  if (metaFields.length === 0) return mingoProject(docs, projection, filter);
  if (!textScores) throw noTextScore();
  const rest: Doc = { ...projection };
  for (const k of metaFields) delete rest[k];
  const projected = Object.keys(rest).length > 0 ? mingoProject(docs, rest, filter) : docs;
  return projected.map((out, i) => {
    const score = textScores.get(docs[i] as Doc) ?? 0;
    const withScore: Doc = { ...out };
    for (const k of metaFields) withScore[k] = score;
    return withScore;
  });
}

function mingoProject(docs: readonly Doc[], projection: Doc, filter: Doc): Doc[] {
  const positional = Object.keys(projection).some((k) => k.endsWith('.$'));
  try {
    const projected = new Query(positional ? filter : {}).find(docs, projection).all() as Doc[];
    return projected.map(idFirst);
  } catch (err) {
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
}
