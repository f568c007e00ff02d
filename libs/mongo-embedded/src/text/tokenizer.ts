import type { TextLanguage } from './language';

export interface TokenOptions {
  filterStopWords: boolean;
  caseSensitive: boolean;
  diacriticSensitive: boolean;
}

export const INDEX_TOKENS: TokenOptions = {
  filterStopWords: true,
  caseSensitive: false,
  diacriticSensitive: false,
};

/**
 * Words as MongoDB's text index version 3 tokenizer delimits them: runs of letters, digits, marks
 * and `_`; every other code point (white space, punctuation, hyphens, quotes, symbols) is a
 * delimiter, except the apostrophe in English ("don't" is one token, and a stop word).
 */
const ENGLISH_WORD = /[\p{L}\p{N}\p{M}_']+/gu;
const OTHER_WORD = /[\p{L}\p{N}\p{M}_]+/gu;
const MARKS = /\p{M}/gu;

/** Removes diacritics (decomposes, drops combining marks), as MongoDB's diacritic-insensitive fold. */
export function stripDiacritics(s: string): string {
  // Plain ASCII (most text) has nothing to strip.
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(s)) return s;
  return s.normalize('NFD').replace(MARKS, '').normalize('NFC');
}

/** The case of `original` carried over onto its lower-case stem (case-sensitive tokens). */
function restoreCase(original: string, lowerStem: string): string {
  const lower = original.toLowerCase();
  if (lower === original) return lowerStem;
  return lower.startsWith(lowerStem) ? original.slice(0, lowerStem.length) : lowerStem;
}

/**
 * The terms of a string in the order they occur: each word lower-cased, dropped when a stop word,
 * stemmed, then stripped of diacritics (MongoDB's order: stop words and the stemmer see diacritics).
 * With `caseSensitive` or `diacriticSensitive` the case or the diacritics are kept.
 */
export function tokenize(text: string, lang: TextLanguage, options: TokenOptions = INDEX_TOKENS): string[] {
  const out: string[] = [];
  const re = lang.english ? ENGLISH_WORD : OTHER_WORD;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const word = m[0];
    const lower = word.toLowerCase();
    if (options.filterStopWords && lang.isStopWord(lower)) continue;
    let term = lang.stem(lower);
    if (term.length === 0) continue;
    if (options.caseSensitive) term = restoreCase(word, term);
    if (!options.diacriticSensitive) term = stripDiacritics(term);
    out.push(term);
  }
  return out;
}
