import { type Doc, isPlainObject } from '../engine/document';
import { MongoCommandError } from '../engine/errors';

/**
 * The field that carries a document's text score through aggregation stages run by mingo (which
 * knows no `$meta`): added after the `$text` match, removed from the output.
 */
export const TEXT_SCORE_FIELD = '__embeddedTextScore';

export function isTextScoreMeta(v: unknown): boolean {
  return isPlainObject(v) && v.$meta === 'textScore' && Object.keys(v).length === 1;
}

export function noTextScore(): MongoCommandError {
  return new MongoCommandError(40218, 'query requires text score metadata, but it is not available');
}

function rewrite(node: unknown, found: { any: boolean }): unknown {
  if (isTextScoreMeta(node)) {
    found.any = true;
    return `$${TEXT_SCORE_FIELD}`;
  }
  if (Array.isArray(node)) return node.map((v) => rewrite(v, found));
  if (!isPlainObject(node)) return node;
  const out: Doc = {};
  for (const [k, v] of Object.entries(node)) out[k] = rewrite(v, found);
  return out;
}

function containsText(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsText);
  if (!isPlainObject(node)) return false;
  return Object.entries(node).some(([k, v]) => k === '$text' || containsText(v));
}

function isInclusion(projection: Doc): boolean {
  return Object.entries(projection).some(([k, v]) => k !== '_id' && v !== 0 && v !== false);
}

/**
 * The stages after the pushed-down `$match`, with `{$meta: 'textScore'}` read from
 * TEXT_SCORE_FIELD (in `$sort`: best first). Without a `$text` match: 40218; a `$text` in a later
 * `$match`: 17313, as in MongoDB.
 */
export function textScoreStages(stages: readonly Doc[], available: boolean): Doc[] {
  const found = { any: false };
  const out = stages.map((stage) => {
    if (isPlainObject(stage.$match) && containsText(stage.$match)) {
      throw new MongoCommandError(17313, '$match with $text is only allowed as the first pipeline stage');
    }
    if (isPlainObject(stage.$sort)) {
      const sort: Doc = {};
      for (const [k, v] of Object.entries(stage.$sort)) {
        if (isTextScoreMeta(v)) {
          found.any = true;
          sort[TEXT_SCORE_FIELD] = -1;
        } else sort[k] = v;
      }
      return { ...stage, $sort: sort };
    }
    const rewritten = rewrite(stage, found) as Doc;
    // MongoDB keeps metadata through an inclusion $project: keep the carrying field too.
    if (isPlainObject(rewritten.$project) && isInclusion(rewritten.$project)) {
      rewritten.$project = { ...rewritten.$project, [TEXT_SCORE_FIELD]: 1 };
    }
    return rewritten;
  });
  if (found.any && !available) throw noTextScore();
  return found.any ? out : [...stages];
}

/** Documents with their score in TEXT_SCORE_FIELD (new top-level objects: stored ones stay intact). */
export function withTextScores(docs: readonly Doc[], scores: ReadonlyMap<Doc, number>): Doc[] {
  return docs.map((d) => ({ ...d, [TEXT_SCORE_FIELD]: scores.get(d) ?? 0 }));
}
