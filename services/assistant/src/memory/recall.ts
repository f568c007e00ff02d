import MiniSearch from 'minisearch';
import type { Message } from '@cohort/common';

/** A message the model may be reminded of, with where it comes from. */
export interface RecallCandidate {
  message: Message;
  /** `this`: the same chat; `other`: another assistant chat of the same user. */
  origin: 'this' | 'other';
}

/** Ranks candidates by relevance to `query`, best first; candidates with no relevance are left out. */
export interface Recall {
  readonly kind: 'lexical' | 'embeddings';
  rank(query: string, candidates: readonly RecallCandidate[]): Promise<RecallCandidate[]>;
}

/**
 * BM25 relevance (MiniSearch's scoring: BM25+ with prefix and fuzzy matches), over a per-question index of the
 * bounded candidate set: a few hundred messages index in a millisecond or two, and the index never holds a
 * message the asker may not see (it is built from the candidates alone).
 */
export function createLexicalRecall(): Recall {
  return {
    kind: 'lexical',
    async rank(query, candidates) {
      if (candidates.length === 0 || query.trim() === '') return [];
      const index = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], storeFields: [] });
      index.addAll(candidates.map((c, id) => ({ id, text: c.message.text })));
      const hits = index.search(query, { prefix: (term) => term.length > 3, fuzzy: 0.15, combineWith: 'OR' });
      return hits.map((hit) => candidates[hit.id as number]!).filter((c) => c !== undefined);
    },
  };
}
