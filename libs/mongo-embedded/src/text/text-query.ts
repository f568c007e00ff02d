import { type Doc, isPlainObject } from '../engine/document';
import { MongoCommandError, badValue } from '../engine/errors';
import { type TextLanguage, textLanguage } from './language';
import type { TextIndex } from './text-index';
import { INDEX_TOKENS, stripDiacritics, tokenize, type TokenOptions } from './tokenizer';

/** A parsed `$text` expression (MongoDB's FTSQueryImpl). */
export interface TextQuery {
  readonly language: TextLanguage | undefined;
  readonly caseSensitive: boolean;
  readonly diacriticSensitive: boolean;
  /** Index terms looked up (OR): the positive words, phrase words included. */
  readonly boundsTerms: readonly string[];
  /** Positive and negated terms in the form the matcher compares (case/diacritics kept if asked). */
  readonly positiveTerms: ReadonlySet<string>;
  readonly negatedTerms: ReadonlySet<string>;
  readonly positivePhrases: readonly string[];
  readonly negatedPhrases: readonly string[];
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\v', '\f']);

interface RawQuery {
  positive: string;
  negative: string;
  positivePhrases: string[];
  negatedPhrases: string[];
}

/**
 * Splits a `$search` string as MongoDB's FTSQueryParser does: `"…"` delimits a phrase (its words
 * are also positive terms), `-` right after white space (or at the start) negates the next word or
 * phrase; a negation lasts until the next white space (`-foo-bar` negates both), a `-` inside a
 * word (`pre-market`) is a delimiter.
 */
function splitSearch(search: string): RawQuery {
  const out: RawQuery = { positive: '', negative: '', positivePhrases: [], negatedPhrases: [] };
  let inNegation = false;
  let inPhrase = false;
  let quoteOffset = 0;
  let pos = 0;
  const skipWhite = (): boolean => {
    const start = pos;
    while (pos < search.length && WHITESPACE.has(search[pos] as string)) pos++;
    return pos > start;
  };
  skipWhite();
  let previousWhiteSpace = true;
  while (pos < search.length) {
    const start = pos;
    const c = search[pos] as string;
    pos++;
    const isDelimiter = c === '-' || c === '"';
    if (!isDelimiter) {
      while (pos < search.length) {
        const d = search[pos] as string;
        if (d === '-' || d === '"' || WHITESPACE.has(d)) break;
        pos++;
      }
    }
    const word = search.slice(start, pos);
    const tokenPrevWhite = previousWhiteSpace;
    previousWhiteSpace = skipWhite();
    if (!isDelimiter) {
      if (inPhrase && inNegation) continue;
      if (inNegation && tokenPrevWhite) inNegation = false;
      if (inNegation) out.negative += `${word} `;
      else out.positive += `${word} `;
    } else if (c === '-') {
      if (!inPhrase && tokenPrevWhite) inNegation = true;
    } else if (inPhrase) {
      const phrase = search.slice(quoteOffset + 1, start);
      (inNegation ? out.negatedPhrases : out.positivePhrases).push(phrase);
      inPhrase = false;
    } else {
      inPhrase = true;
      if (inNegation && tokenPrevWhite) inNegation = false;
      quoteOffset = start;
    }
  }
  return out;
}

function optionalBoolean(text: Doc, field: string): boolean {
  const v = text[field];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw badValue(`${field} requires a boolean value`);
  return v;
}

/** Parses `{$search, $language?, $caseSensitive?, $diacriticSensitive?}`. */
export function parseTextQuery(arg: unknown, defaultLanguage: TextLanguage): TextQuery {
  if (!isPlainObject(arg)) throw badValue('$text expects an object');
  for (const k of Object.keys(arg)) {
    if (k !== '$search' && k !== '$language' && k !== '$caseSensitive' && k !== '$diacriticSensitive') {
      throw badValue(`extra fields in $text: ${k}`);
    }
  }
  const search = arg.$search;
  if (typeof search !== 'string') throw badValue('$search required and must be a string');
  let language: TextLanguage | undefined;
  if (arg.$language !== undefined) {
    if (typeof arg.$language !== 'string') throw badValue('$language requires a string value');
    language = textLanguage(arg.$language);
  }
  const caseSensitive = optionalBoolean(arg, '$caseSensitive');
  const diacriticSensitive = optionalBoolean(arg, '$diacriticSensitive');
  const lang = language ?? defaultLanguage;
  const raw = splitSearch(search);
  const bounds = tokenize(raw.positive, lang, INDEX_TOKENS);
  const sensitive = caseSensitive || diacriticSensitive;
  const matchOptions: TokenOptions = { filterStopWords: true, caseSensitive, diacriticSensitive };
  return {
    language,
    caseSensitive,
    diacriticSensitive,
    boundsTerms: [...new Set(bounds)],
    positiveTerms: new Set(sensitive ? tokenize(raw.positive, lang, matchOptions) : bounds),
    negatedTerms: new Set(tokenize(raw.negative, lang, sensitive ? matchOptions : INDEX_TOKENS)),
    positivePhrases: raw.positivePhrases,
    negatedPhrases: raw.negatedPhrases,
  };
}

function fold(s: string, q: TextQuery): string {
  const cased = q.caseSensitive ? s : s.toLowerCase();
  return q.diacriticSensitive ? cased : stripDiacritics(cased);
}

/** Whether a candidate found through the index needs its text checked (MongoDB's FTSMatcher). */
export function needsTextCheck(q: TextQuery): boolean {
  return (
    q.caseSensitive ||
    q.diacriticSensitive ||
    q.negatedTerms.size > 0 ||
    q.positivePhrases.length > 0 ||
    q.negatedPhrases.length > 0
  );
}

/**
 * FTSMatcher: with case or diacritic sensitivity a positive term must occur in that exact form;
 * no negated term may occur; every positive phrase must occur in one indexed string and no
 * negated phrase in any (case-insensitive substring search unless `$caseSensitive`).
 */
export function matchesText(doc: Doc, q: TextQuery, index: TextIndex): boolean {
  const strings = index.strings(doc).map((s) => s.text);
  const lang = q.language ?? index.languageOf(doc);
  const options: TokenOptions = {
    filterStopWords: true,
    caseSensitive: q.caseSensitive,
    diacriticSensitive: q.diacriticSensitive,
  };
  if (q.caseSensitive || q.diacriticSensitive || q.negatedTerms.size > 0) {
    let positive = !(q.caseSensitive || q.diacriticSensitive);
    for (const s of strings) {
      for (const term of tokenize(s, lang, options)) {
        if (q.negatedTerms.has(term)) return false;
        if (q.positiveTerms.has(term)) positive = true;
      }
    }
    if (!positive) return false;
  }
  if (q.positivePhrases.length > 0 || q.negatedPhrases.length > 0) {
    const folded = strings.map((s) => fold(s, q));
    for (const phrase of q.positivePhrases) {
      const p = fold(phrase, q);
      if (!folded.some((s) => s.includes(p))) return false;
    }
    for (const phrase of q.negatedPhrases) {
      const p = fold(phrase, q);
      if (folded.some((s) => s.includes(p))) return false;
    }
  }
  return true;
}

function containsText(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsText);
  if (!isPlainObject(node)) return false;
  for (const [k, v] of Object.entries(node)) if (k === '$text' || containsText(v)) return true;
  return false;
}

/** A filter split into its `$text` expression and the rest. */
export interface SplitFilter {
  text: unknown;
  rest: Doc;
}

/**
 * Finds the filter's `$text` (top level or in a top-level `$and`); undefined without one. At most
 * one per query, never under `$nor` or inside a field's condition (`$elemMatch`), as in MongoDB;
 * under `$or` the embedded store refuses it.
 */
export function splitTextFilter(filter: Doc): SplitFilter | undefined {
  if (!containsText(filter)) return undefined;
  let count = 0;
  let text: unknown;
  const rest: Doc = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$text') {
      count++;
      text = value;
    } else if (key === '$and' && Array.isArray(value)) {
      const clauses: unknown[] = [];
      for (const clause of value) {
        if (isPlainObject(clause) && '$text' in clause) {
          count++;
          text = clause.$text;
          const others: Doc = { ...clause };
          delete others.$text;
          if (containsText(others)) throw badValue('Too many text expressions');
          if (Object.keys(others).length > 0) clauses.push(others);
        } else {
          if (containsText(clause)) throw badValue('$text can only be applied to the top-level document');
          clauses.push(clause);
        }
      }
      if (clauses.length > 0) rest.$and = clauses;
    } else if (containsText(value)) {
      if (key === '$nor') throw badValue('text expression not allowed in nor');
      if (key === '$or') {
        throw new MongoCommandError(2, '$text under $or is not supported by the embedded store');
      }
      throw badValue('$text can only be applied to the top-level document');
    } else rest[key] = value;
  }
  if (count > 1) throw badValue('Too many text expressions');
  return { text, rest };
}
