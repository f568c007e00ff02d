import { type Doc, isPlainObject, pathValues } from '../engine/document';
import { MongoCommandError } from '../engine/errors';
import type { IndexSpec } from '../engine/index-tree';
import { type TextLanguage, textLanguage } from './language';
import { Postings } from './postings';
import { tokenize } from './tokenizer';
import { WILDCARD } from './text-spec';

/** One string a document contributes to the text index, with its field's weight. */
export interface WeightedString {
  readonly text: string;
  readonly weight: number;
}

/** Term → the document's score for it (summed over its fields). */
export type TermScores = Map<string, number>;

/**
 * A text index: an inverted index from each term (stemmed, lower case, without diacritics) to the
 * documents holding it with their score, maintained on every insert, update and delete.
 */
export class TextIndex {
  readonly weights: ReadonlyMap<string, number>;
  readonly wildcard: boolean;
  readonly defaultLanguage: TextLanguage;
  readonly languageOverride: string;
  /** Key fields before `_fts`: a $text query needs an equality on each. */
  readonly prefixFields: readonly string[];
  private readonly terms = new Map<string, Postings>();

  constructor(readonly spec: IndexSpec) {
    const weights = new Map<string, number>();
    for (const [field, w] of Object.entries(spec.weights as Doc)) weights.set(field, Number(w));
    this.wildcard = weights.has(WILDCARD);
    weights.delete(WILDCARD);
    this.weights = weights;
    this.defaultLanguage = textLanguage(String(spec.default_language));
    this.languageOverride = String(spec.language_override);
    const prefix: string[] = [];
    for (const field of Object.keys(spec.key)) {
      if (field === '_fts') break;
      prefix.push(field);
    }
    this.prefixFields = prefix;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The document's language: its `language_override` field, else the index default. */
  languageOf(doc: Doc): TextLanguage {
    const value = doc[this.languageOverride];
    if (value === undefined) return this.defaultLanguage;
    if (typeof value !== 'string') {
      throw new MongoCommandError(17261, 'found language override field in document with non-string type');
    }
    try {
      return textLanguage(value);
    } catch {
      throw new MongoCommandError(17262, `language override unsupported: ${value}`);
    }
  }

  /** The indexed strings of a document: each weighted field's strings (array elements one by one). */
  strings(doc: Doc): WeightedString[] {
    const out: WeightedString[] = [];
    if (this.wildcard) {
      const walk = (node: unknown, path: string): void => {
        if (typeof node === 'string') out.push({ text: node, weight: this.weights.get(path) ?? 1 });
        else if (Array.isArray(node)) for (const el of node) walk(el, path);
        else if (isPlainObject(node))
          for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
      };
      walk(doc, '');
      return out;
    }
    for (const [field, weight] of this.weights) {
      for (const v of pathValues(doc, field.split('.')).values) {
        if (typeof v === 'string') out.push({ text: v, weight });
      }
    }
    return out;
  }

  /**
   * The document's score for each of its terms, as MongoDB computes it (FTSSpec::_scoreStringV2),
   * per string of a field with weight w, n terms (stop words excluded), a term occurring c times:
   * w × (1 + 1/2 + … + 1/2^(c-1)) × (0.5 × c/n + 0.5), × 1.1 when the string is that term alone.
   */
  scoreDocument(doc: Doc): TermScores {
    const lang = this.languageOf(doc);
    const scores: TermScores = new Map();
    for (const { text, weight } of this.strings(doc)) {
      const tokens = tokenize(text, lang);
      if (tokens.length === 0) continue;
      const counts = new Map<string, { count: number; freq: number; exp: number }>();
      for (const term of tokens) {
        const data = counts.get(term);
        if (data) {
          data.exp *= 2;
          data.count++;
          data.freq += 1 / data.exp;
        } else counts.set(term, { count: 1, freq: 1, exp: 1 });
      }
      for (const [term, data] of counts) {
        const coeff = (0.5 * data.count) / tokens.length + 0.5;
        const adjustment = text.length === term.length && text.toLowerCase() === term ? 1.1 : 1;
        scores.set(term, (scores.get(term) ?? 0) + weight * data.freq * coeff * adjustment);
      }
    }
    return scores;
  }

  /** Whether two versions of a document index the same (an update that left the text alone). */
  sameText(a: Doc, b: Doc): boolean {
    if (a[this.languageOverride] !== b[this.languageOverride]) return false;
    const x = this.strings(a);
    const y = this.strings(b);
    if (x.length !== y.length) return false;
    return x.every((s, i) => s.text === y[i]?.text && s.weight === y[i]?.weight);
  }

  add(rid: number, scores: TermScores): void {
    for (const [term, score] of scores) {
      let list = this.terms.get(term);
      if (!list) {
        list = new Postings();
        this.terms.set(term, list);
      }
      list.set(rid, score);
    }
  }

  remove(rid: number, scores: TermScores): void {
    for (const term of scores.keys()) {
      const list = this.terms.get(term);
      if (!list) continue;
      list.delete(rid);
      if (list.size === 0) this.terms.delete(term);
    }
  }

  postings(term: string): Postings | undefined {
    return this.terms.get(term);
  }

  /** Distinct terms held (for tests and stats). */
  get termCount(): number {
    return this.terms.size;
  }
}
