import { porter2Stem } from './porter2';
import { MongoCommandError } from '../engine/errors';
import { ENGLISH_STOP_WORDS } from './stop-words';

/**
 * A text search language: its stop words and stemmer. The embedded store implements MongoDB's
 * `english` (Snowball English = Porter2 stemmer, MongoDB's English stop words) and `none` (simple
 * tokenization, no stop words, no stemming); MongoDB's other languages are refused.
 */
export interface TextLanguage {
  readonly name: 'english' | 'none';
  readonly english: boolean;
  isStopWord(lowerWord: string): boolean;
  stem(lowerWord: string): string;
}

const STEM_CACHE_LIMIT = 200_000;
const stemCache = new Map<string, string>();

function cachedStem(word: string): string {
  const hit = stemCache.get(word);
  if (hit !== undefined) return hit;
  const stemmed = porter2Stem(word);
  // A bounded cache: user text can hold unbounded vocabularies (ids, typos).
  if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
  stemCache.set(word, stemmed);
  return stemmed;
}

const ENGLISH: TextLanguage = {
  name: 'english',
  english: true,
  isStopWord: (w) => ENGLISH_STOP_WORDS.has(w),
  stem: cachedStem,
};

const NONE: TextLanguage = {
  name: 'none',
  english: false,
  isStopWord: () => false,
  stem: (w) => w,
};

const LANGUAGES = new Map<string, TextLanguage>([
  ['english', ENGLISH],
  ['en', ENGLISH],
  ['none', NONE],
]);

/** MongoDB's text search languages (text index version 3), by name and ISO code. */
const MONGODB_LANGUAGES = new Set([
  'danish',
  'da',
  'dutch',
  'nl',
  'finnish',
  'fi',
  'french',
  'fr',
  'german',
  'de',
  'hungarian',
  'hu',
  'italian',
  'it',
  'norwegian',
  'nb',
  'portuguese',
  'pt',
  'romanian',
  'ro',
  'russian',
  'ru',
  'spanish',
  'es',
  'swedish',
  'sv',
  'turkish',
  'tr',
]);

/** Whether MongoDB knows the language (the embedded store may still refuse it). */
export function isMongoLanguage(name: string): boolean {
  return LANGUAGES.has(name.toLowerCase()) || MONGODB_LANGUAGES.has(name.toLowerCase());
}

/** The language by name (case-insensitive, as MongoDB); code 2 (or `code`) when unsupported. */
export function textLanguage(name: string, code = 2): TextLanguage {
  const lang = LANGUAGES.get(name.toLowerCase());
  if (lang) return lang;
  const suffix = MONGODB_LANGUAGES.has(name.toLowerCase())
    ? ' (the embedded store implements english and none only)'
    : '';
  throw new MongoCommandError(code, `unsupported language: "${name}" for text index version 3${suffix}`);
}
