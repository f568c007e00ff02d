import type { Document } from 'bson';
import { Aggregator } from 'mingo';
import type { Collection, QueryOptions, QueryStats } from '../engine/collection';
import { deepClone, type Doc, isPlainObject, pathValues } from '../engine/document';
import { compareValues } from '../engine/bson-order';
import { type Steps, drive } from '../engine/cooperative';
import { Deadline } from '../engine/deadline';
import { MongoCommandError, toMongoError } from '../engine/errors';
import type { IndexPlan } from '../engine/planner';
import { parseSort } from '../engine/sort';
import type { CommandContext, CommandHandler } from './context';
import { project } from './project';
import { TEXT_SCORE_FIELD, textScoreStages, withTextScores } from './text-score';
import { collectionName, existing, optionalDoc, optionalNumber } from './util';

interface FindRequest {
  coll: Collection | undefined;
  ns: string;
  filter: Doc;
  options: QueryOptions;
  projection: Doc | undefined;
}

function parseFind(cmd: Document, ctx: CommandContext): FindRequest {
  const name = collectionName(cmd, 'find');
  const skip = optionalNumber(cmd, 'skip') ?? 0;
  if (skip < 0)
    throw new MongoCommandError(51024, `BSON field 'skip' value must be >= 0, actual value '${skip}'`);
  const limit = Math.abs(optionalNumber(cmd, 'limit') ?? 0);
  return {
    coll: existing(ctx, name),
    ns: `${ctx.db}.${name}`,
    filter: optionalDoc(cmd, 'filter') ?? {},
    options: { sort: parseSort(cmd.sort), skip, limit },
    projection: optionalDoc(cmd, 'projection'),
  };
}

function* runQuery(
  coll: Collection,
  filter: Doc,
  options: QueryOptions,
): Steps<{ docs: Doc[]; stats: QueryStats; textScores: Map<Doc, number> | undefined }> {
  try {
    const { entries, stats, textScores } = yield* coll.run(filter, options);
    return { docs: entries.map(([, d]) => d), stats, textScores };
  } catch (err) {
    throw toMongoError(err);
  }
}

/**
 * A read command as interruptible steps: it honours `maxTimeMS` (code 50 once it passes) and, when
 * long, lets other commands run between its slices (engine/cooperative.ts).
 */
function interruptible(run: (cmd: Document, ctx: CommandContext) => Steps<Document>): CommandHandler {
  return (cmd, ctx) => {
    const deadline = Deadline.fromCommand(cmd);
    return drive(run(cmd, ctx), deadline);
  };
}

const find = interruptible(function* (cmd, ctx) {
  const req = parseFind(cmd, ctx);
  const batchSize = optionalNumber(cmd, 'batchSize');
  const singleBatch = cmd.singleBatch === true || Number(cmd.limit) < 0;
  if (!req.coll) return ctx.cursors.first(req.ns, [], batchSize, true);
  const { docs, textScores } = yield* runQuery(req.coll, req.filter, req.options);
  yield;
  const projected = project(docs, req.projection, req.filter, textScores);
  return ctx.cursors.first(req.ns, projected, batchSize, singleBatch);
});

const getMore: CommandHandler = (cmd, ctx) => {
  const id = Number(cmd.getMore);
  const name = collectionName(cmd, 'collection');
  return ctx.cursors.getMore(id, `${ctx.db}.${name}`, optionalNumber(cmd, 'batchSize'));
};

const killCursors: CommandHandler = (cmd, ctx) => {
  const ids = Array.isArray(cmd.cursors) ? cmd.cursors.map(Number) : [];
  const { killed, notFound } = ctx.cursors.kill(ids);
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
};

const count = interruptible(function* (cmd, ctx) {
  const coll = existing(ctx, collectionName(cmd, 'count'));
  if (!coll) return { n: 0, ok: 1 };
  const query = optionalDoc(cmd, 'query') ?? {};
  const skip = optionalNumber(cmd, 'skip') ?? 0;
  const limit = Math.abs(optionalNumber(cmd, 'limit') ?? 0);
  if (Object.keys(query).length === 0) {
    const total = Math.max(0, coll.docs.size - skip);
    return { n: limit ? Math.min(limit, total) : total, ok: 1 };
  }
  return { n: (yield* runQuery(coll, query, { skip, limit })).docs.length, ok: 1 };
});

const distinct = interruptible(function* (cmd, ctx) {
  const coll = existing(ctx, collectionName(cmd, 'distinct'));
  const key = cmd.key;
  if (typeof key !== 'string')
    throw new MongoCommandError(14, "BSON field 'distinct.key' is missing or not a string");
  if (!coll) return { values: [], ok: 1 };
  const { docs } = yield* runQuery(coll, optionalDoc(cmd, 'query') ?? {}, {});
  const parts = key.split('.');
  const all: unknown[] = [];
  for (const doc of docs) for (const v of pathValues(doc, parts).values) if (v !== undefined) all.push(v);
  yield;
  all.sort(compareValues);
  const values = all.filter((v, i) => i === 0 || compareValues(v, all[i - 1]) !== 0);
  return { values, ok: 1 };
});

interface PipelinePrefix {
  filter: Doc;
  options: QueryOptions;
  rest: Doc[];
}

/** Pushes a leading $match [$sort] [$skip] [$limit] down to the collection (and its indexes). */
function splitPipeline(pipeline: Doc[]): PipelinePrefix {
  let i = 0;
  let filter: Doc = {};
  const options: QueryOptions = {};
  const first = pipeline[0];
  if (first && isPlainObject(first.$match) && !JSON.stringify(first.$match).includes('$expr')) {
    filter = first.$match;
    i = 1;
  }
  const sortStage = pipeline[i];
  if (sortStage && isPlainObject(sortStage.$sort)) {
    options.sort = parseSort(sortStage.$sort);
    i++;
  }
  const skipStage = pipeline[i];
  if (skipStage && typeof skipStage.$skip === 'number') {
    options.skip = skipStage.$skip;
    i++;
  }
  const limitStage = pipeline[i];
  if (limitStage && typeof limitStage.$limit === 'number' && limitStage.$limit > 0) {
    options.limit = limitStage.$limit;
    i++;
  }
  return { filter, options, rest: pipeline.slice(i) };
}

function* runAggregate(
  cmd: Document,
  ctx: CommandContext,
): Steps<{ docs: Doc[]; stats?: QueryStats; ns: string }> {
  if (typeof cmd.aggregate !== 'string') {
    throw new MongoCommandError(115, 'aggregate without a collection is not supported by the embedded store');
  }
  const name = cmd.aggregate;
  const ns = `${ctx.db}.${name}`;
  if (!Array.isArray(cmd.pipeline))
    throw new MongoCommandError(14, "'pipeline' option must be specified as an array");
  const pipeline = cmd.pipeline as Doc[];
  for (const stage of pipeline) {
    if ('$out' in stage || '$merge' in stage)
      throw new MongoCommandError(115, '$out and $merge are not supported by the embedded store');
  }
  const coll = existing(ctx, name);
  const split = splitPipeline(pipeline);
  const { filter, options } = split;
  let input: Doc[] = [];
  let stats: QueryStats | undefined;
  let textScores: Map<Doc, number> | undefined;
  if (coll) ({ docs: input, stats, textScores } = yield* runQuery(coll, filter, options));
  // Later stages read the score ({$meta: 'textScore'}) from a field the store adds and removes.
  const rest = textScoreStages(split.rest, textScores !== undefined);
  if (rest.length === 0) return { docs: input, stats, ns };
  if (textScores) input = withTextScores(input, textScores);
  const resolver = (from: string): Doc[] => {
    const other = existing(ctx, from);
    return other ? [...other.docs.values()].map((d) => deepClone(d)) : [];
  };
  try {
    // Stored documents are shared, never mutated: copy them unless every stage only reads its input.
    const readOnly = rest.every((stage) => Object.keys(stage).every((k) => READ_ONLY_STAGES.has(k)));
    let docs = readOnly ? input : input.map((d) => deepClone(d));
    let segment: Doc[] = [];
    // mingo runs a segment of stages in one go: the interrupt points are between segments.
    const runSegment = (): void => {
      if (segment.length === 0) return;
      docs = new Aggregator(segment, { collectionResolver: resolver }).run(docs) as Doc[];
      segment = [];
    };
    for (const stage of rest) {
      const lookup = simpleLookup(stage);
      if (lookup) {
        yield;
        runSegment();
        docs = yield* indexedLookup(docs, lookup, ctx);
      } else segment.push(stage);
    }
    yield;
    runSegment();
    if (textScores) docs = docs.map(stripTextScore);
    return { docs, stats, ns };
  } catch (err) {
    throw toMongoError(err);
  }
}

function stripTextScore(doc: Doc): Doc {
  if (!(TEXT_SCORE_FIELD in doc)) return doc;
  const out: Doc = { ...doc };
  delete out[TEXT_SCORE_FIELD];
  return out;
}

/** Stages that build new documents or reorder them but never modify the ones they receive. */
const READ_ONLY_STAGES = new Set([
  '$match',
  '$group',
  '$count',
  '$sort',
  '$skip',
  '$limit',
  '$project',
  '$sortByCount',
]);

interface SimpleLookup {
  from: string;
  localField: string;
  foreignField: string;
  as: string;
}

/** A `$lookup` by local/foreign field equality (no pipeline, no let): answered through indexes. */
function simpleLookup(stage: Doc): SimpleLookup | undefined {
  const spec = stage.$lookup;
  if (!isPlainObject(spec) || Object.keys(stage).length !== 1) return undefined;
  const { from, localField, foreignField, as } = spec;
  if (spec.pipeline !== undefined || spec.let !== undefined) return undefined;
  if (typeof from !== 'string' || typeof localField !== 'string' || typeof foreignField !== 'string')
    return undefined;
  if (typeof as !== 'string' || as.includes('.')) return undefined;
  return { from, localField, foreignField, as };
}

function* indexedLookup(docs: Doc[], lookup: SimpleLookup, ctx: CommandContext): Steps<Doc[]> {
  const foreign = existing(ctx, lookup.from);
  const parts = lookup.localField.split('.');
  const out: Doc[] = [];
  for (const doc of docs) {
    // A missing local field joins foreign documents whose field is null or missing, as in MongoDB.
    const values = pathValues(doc, parts).values.map((v) => (v === undefined ? null : v));
    const matches = foreign
      ? (yield* foreign.run({ [lookup.foreignField]: { $in: values } })).entries.map(([, d]) => deepClone(d))
      : [];
    out.push({ ...doc, [lookup.as]: matches });
    yield;
  }
  return out;
}

const aggregate = interruptible(function* (cmd, ctx) {
  if (cmd.explain === true) return yield* explainReply(cmd, ctx, 'aggregate');
  const { docs, ns } = yield* runAggregate(cmd, ctx);
  const cursor = optionalDoc(cmd, 'cursor');
  const batchSize = cursor?.batchSize === undefined ? undefined : Number(cursor.batchSize);
  return ctx.cursors.first(ns, docs, batchSize);
});

function ixscanStage(plan: IndexPlan): Doc {
  return {
    stage: 'IXSCAN',
    indexName: plan.index.name,
    keyPattern: plan.index.spec.key,
    isMultiKey: plan.index.multikey,
    direction: plan.reverse ? 'backward' : 'forward',
  };
}

function planStage(stats: QueryStats | undefined, sorted: boolean): Doc {
  const plan = stats?.plan ?? { kind: 'collscan' };
  let stage: Doc;
  if (plan.kind === 'text') {
    const textStage: Doc = {
      stage: 'TEXT_MATCH',
      indexPrefix: {},
      indexName: plan.index.name,
      inputStage: { stage: 'TEXT_OR', inputStage: { stage: 'IXSCAN', indexName: plan.index.name } },
    };
    if (plan.filterIndex) textStage.filterIndex = ixscanStage(plan.filterIndex);
    return sorted ? { stage: 'SORT', inputStage: textStage } : textStage;
  }
  if (plan.kind === 'collscan') stage = { stage: 'COLLSCAN' };
  else if (plan.kind === 'or')
    stage = { stage: 'FETCH', inputStage: { stage: 'OR', inputStages: plan.branches.map(ixscanStage) } };
  else stage = { stage: 'FETCH', inputStage: ixscanStage(plan) };
  const sortedByIndex = plan.kind === 'ixscan' && plan.providesSort;
  return sorted && !sortedByIndex ? { stage: 'SORT', inputStage: stage } : stage;
}

/** `explain` for find, count and aggregate: the plan and the documents it examined. */
function* explainReply(
  cmd: Document,
  ctx: CommandContext,
  kind: 'find' | 'aggregate' | 'count',
): Steps<Document> {
  const started = Date.now();
  let stats: QueryStats | undefined;
  let nReturned = 0;
  let ns: string;
  let sorted = false;
  let filter: Doc = {};
  if (kind === 'find') {
    const req = parseFind(cmd, ctx);
    ns = req.ns;
    filter = req.filter;
    sorted = req.options.sort !== undefined;
    if (req.coll) {
      const r = yield* runQuery(req.coll, req.filter, req.options);
      stats = r.stats;
      nReturned = r.docs.length;
    }
  } else if (kind === 'count') {
    const coll = existing(ctx, collectionName(cmd, 'count'));
    filter = optionalDoc(cmd, 'query') ?? {};
    ns = `${ctx.db}.${String(cmd.count)}`;
    if (coll) {
      const r = yield* runQuery(coll, filter, {});
      stats = r.stats;
      nReturned = r.docs.length;
    }
  } else {
    const r = yield* runAggregate(cmd, ctx);
    ns = r.ns;
    stats = r.stats;
    nReturned = r.docs.length;
  }
  return {
    queryPlanner: {
      namespace: ns,
      parsedQuery: filter,
      winningPlan: planStage(stats, sorted),
      rejectedPlans: [],
    },
    executionStats: {
      executionSuccess: true,
      nReturned,
      executionTimeMillis: Date.now() - started,
      totalKeysExamined: stats?.keysExamined ?? 0,
      totalDocsExamined: stats?.docsExamined ?? 0,
    },
    ok: 1,
  };
}

const explain = interruptible(function* (cmd, ctx) {
  const inner = optionalDoc(cmd, 'explain');
  if (!inner) throw new MongoCommandError(9, 'explain command requires a nested object');
  const kind = Object.keys(inner)[0];
  if (kind === 'find' || kind === 'aggregate' || kind === 'count')
    return yield* explainReply(inner, ctx, kind);
  throw new MongoCommandError(115, `explain of ${String(kind)} is not supported by the embedded store`);
});

export const readCommands: Record<string, CommandHandler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
  explain,
};
