import { type Doc, isPlainObject } from '../engine/document';
import { MongoCommandError } from '../engine/errors';
import type { IndexSpec } from '../engine/index-tree';
import { textLanguage } from './language';

/** MongoDB's bound on a text field weight (exclusive): MAX_WEIGHT / 10,000. */
const MAX_WORD_WEIGHT = 100_000;
export const WILDCARD = '$**';
export const TEXT_INDEX_VERSION = 3;

function cannotCreate(message: string): MongoCommandError {
  return new MongoCommandError(67, message);
}

/** Whether a createIndexes key asks for a text index (`{field: 'text'}` or the stored `_fts` form). */
export function isTextKey(key: Doc): boolean {
  return Object.entries(key).some(([f, v]) => v === 'text' || f === '_fts');
}

/** Whether a stored spec is a text index. */
export function isTextSpec(spec: IndexSpec): boolean {
  return spec.key._fts === 'text';
}

function checkFieldName(field: string): void {
  if (field === '_fts' || field === '_ftsx')
    throw cannotCreate('text index with reserved fields _fts/_ftsx not allowed');
}

/**
 * A text index spec as MongoDB stores and lists it (FTSSpec::fixSpec): key
 * `{…prefix, _fts: 'text', _ftsx: 1, …suffix}`, `weights` (integers, by field name),
 * `default_language` ('english'), `language_override` ('language'), `textIndexVersion: 3`.
 */
export function fixTextSpec(spec: IndexSpec): IndexSpec {
  const entries = Object.entries(spec.key);
  const key: Doc = {};
  const weights = new Map<string, number>();
  let state: 'before' | 'text' | 'after' = 'before';
  for (const [field, value] of entries) {
    if (field === '_fts') {
      if (value !== 'text') throw cannotCreate('expecting _fts:"text"');
      key._fts = 'text';
      state = 'text';
      continue;
    }
    if (field === '_ftsx') {
      if (Number(value) !== 1) throw cannotCreate('expecting _ftsx:1');
      key._ftsx = 1;
      continue;
    }
    checkFieldName(field);
    if (value === 'text') {
      if (state === 'after') throw cannotCreate("'text' fields in index must all be adjacent");
      if (state === 'before') {
        key._fts = 'text';
        key._ftsx = 1;
        state = 'text';
      }
      weights.set(field, 1);
      continue;
    }
    if (typeof value === 'string') throw cannotCreate(`cannot combine a text index with a '${value}' index`);
    const dir = Number(value);
    if (dir !== 1 && dir !== -1)
      throw cannotCreate('expected value 1 or -1 for non-text key in compound index');
    if (state === 'text') state = 'after';
    key[field] = value;
  }
  const rawWeights = spec.weights;
  if (isPlainObject(rawWeights)) {
    for (const [field, w] of Object.entries(rawWeights)) {
      if (typeof w !== 'number') throw cannotCreate('weight for text index needs numeric type');
      weights.set(field, Math.trunc(w));
    }
  } else if (rawWeights === WILDCARD) weights.set(WILDCARD, 1);
  else if (rawWeights !== undefined) throw cannotCreate("text index option 'weights' must be an object");
  if (weights.size === 0)
    throw cannotCreate("text index option 'weights' must specify fields or the wildcard");
  for (const [field, w] of weights) {
    if (w <= 0 || w >= MAX_WORD_WEIGHT) {
      throw cannotCreate(
        `text index weight must be in the exclusive interval (0,${MAX_WORD_WEIGHT}) but found: ${w}`,
      );
    }
    if (field !== WILDCARD && field.split('.').some((p) => p === '' || p.startsWith('$'))) {
      throw cannotCreate(`weight cannot have an empty or $-prefixed path component: ${field}`);
    }
  }
  const defaultLanguage = spec.default_language ?? 'english';
  if (typeof defaultLanguage !== 'string') throw cannotCreate('default_language needs a string type');
  textLanguage(defaultLanguage, 67);
  const languageOverride = spec.language_override ?? 'language';
  if (
    typeof languageOverride !== 'string' ||
    languageOverride === '' ||
    languageOverride.startsWith('$') ||
    languageOverride.includes('.')
  ) {
    throw cannotCreate(`language_override is invalid: ${JSON.stringify(languageOverride)}`);
  }
  const version = spec.textIndexVersion ?? TEXT_INDEX_VERSION;
  if (Number(version) !== TEXT_INDEX_VERSION) {
    throw cannotCreate(`the embedded store supports textIndexVersion 3 only, got ${String(version)}`);
  }
  const fixed: IndexSpec = { v: spec.v, key, name: spec.name };
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'v' || k === 'key' || k === 'name') continue;
    if (k === 'weights' || k === 'default_language' || k === 'language_override' || k === 'textIndexVersion')
      continue;
    if (k === 'unique') throw cannotCreate('a text index cannot be unique');
    fixed[k] = v;
  }
  const sorted: Doc = {};
  for (const field of [...weights.keys()].sort()) sorted[field] = weights.get(field);
  fixed.weights = sorted;
  fixed.default_language = defaultLanguage;
  fixed.language_override = languageOverride;
  fixed.textIndexVersion = TEXT_INDEX_VERSION;
  return fixed;
}

/** Whether two text specs index the same way (key, weights, languages). */
export function sameTextOptions(a: IndexSpec, b: IndexSpec): boolean {
  return (
    JSON.stringify([a.key, a.weights, a.default_language, a.language_override]) ===
    JSON.stringify([b.key, b.weights, b.default_language, b.language_override])
  );
}
