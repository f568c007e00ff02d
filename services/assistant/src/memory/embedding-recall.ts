import { Schema, type Connection, type Model } from 'mongoose';
import type { Logger } from '@cohort/common';
import type { Recall, RecallCandidate } from './recall';

interface EmbeddingDoc {
  messageId: string;
  /** The message version the vector was computed from: an edit (version + 1) gets a new vector. */
  version: number;
  model: string;
  chatId: string;
  vector: number[];
  createdAt: Date;
}

const embeddingSchema = new Schema<EmbeddingDoc>(
  {
    messageId: { type: String, required: true },
    version: { type: Number, required: true },
    model: { type: String, required: true },
    chatId: { type: String, required: true },
    vector: { type: [Number], required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false },
);
// Serves the lookup of a candidate set's vectors (messageId $in, model, version), and makes a vector unique.
embeddingSchema.index({ messageId: 1, model: 1, version: 1 }, { unique: true });

export function embeddingModel(connection: Connection): Model<EmbeddingDoc> {
  return (
    (connection.models.AssistantEmbedding as Model<EmbeddingDoc> | undefined) ??
    connection.model<EmbeddingDoc>('AssistantEmbedding', embeddingSchema, 'assistant_embeddings')
  );
}

export type Embed = (texts: string[]) => Promise<number[][]>;

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Long-term memory by embeddings (AI_EMBEDDING_MODEL): each candidate's vector is read from the assistant's own
 * collection (keyed by message id + version, so an edit is embedded again), the missing ones are computed through
 * the provider's embeddings API and stored; candidates are ranked by brute-force cosine similarity to the
 * question's vector. The candidate set is bounded (a few hundred messages a question), so brute force is exact and
 * cheap here; past one machine's scale a vector index (MongoDB Atlas Vector Search, pgvector, Qdrant) takes its
 * place. When embedding fails, the lexical recall answers instead.
 */
export function createEmbeddingRecall(options: {
  model: string;
  embed: Embed;
  store: Model<EmbeddingDoc>;
  fallback: Recall;
  logger: Logger;
  minSimilarity?: number;
}): Recall {
  const { model, embed, store, fallback, logger } = options;
  const minSimilarity = options.minSimilarity ?? 0.2;
  return {
    kind: 'embeddings',
    async rank(query, candidates) {
      if (candidates.length === 0) return [];
      try {
        const stored = await store
          .find({ messageId: { $in: candidates.map((c) => c.message.id) }, model })
          .lean();
        const vectors = new Map<string, number[]>();
        for (const doc of stored) vectors.set(`${doc.messageId}:${doc.version}`, doc.vector);
        const key = (c: RecallCandidate) => `${c.message.id}:${c.message.version}`;
        const missing = candidates.filter((c) => !vectors.has(key(c)));
        for (let i = 0; i < missing.length; i += 64) {
          const batch = missing.slice(i, i + 64);
          const computed = await embed(batch.map((c) => c.message.text));
          const docs = batch.map((c, j) => ({
            messageId: c.message.id,
            version: c.message.version,
            model,
            chatId: c.message.chatId,
            vector: computed[j] ?? [],
          }));
          for (const doc of docs) vectors.set(`${doc.messageId}:${doc.version}`, doc.vector);
          await store.insertMany(docs, { ordered: false }).catch((err: unknown) => {
            // Another replica stored the same vectors first (duplicate key): theirs are as good.
            if ((err as { code?: number }).code !== 11000) logger.warn({ err }, 'storing embeddings failed');
          });
        }
        const [queryVector] = await embed([query]);
        if (!queryVector) return fallback.rank(query, candidates);
        return candidates
          .map((c) => ({ c, score: cosine(queryVector, vectors.get(key(c)) ?? []) }))
          .filter((s) => s.score >= minSimilarity)
          .sort((a, b) => b.score - a.score)
          .map((s) => s.c);
      } catch (err) {
        logger.warn({ err }, 'embedding recall failed: lexical recall instead');
        return fallback.rank(query, candidates);
      }
    },
  };
}
