import type { ChainableCommander, Redis } from 'ioredis';

/** A pipeline's replies: `[error, reply]` per command, in the order they were queued. */
export type PipelineResults = Array<[Error | null, unknown]>;

/** One write to Redis for the commands that several callers queue in one turn of the event loop. */
export interface RedisRoundTrips {
  /**
   * Adds the commands `build` queues to the pipeline that leaves at the end of this turn of the event loop, and
   * resolves with their replies (one `[error, reply]` each, in order); rejects when the pipeline fails as a whole
   * (the connection lost before it was written, ioredis discarding it). Commands reach Redis in the order they were
   * queued, whoever queued them; a command sent directly on the client meanwhile can overtake them, so a caller
   * whose commands must keep an order sends all of them through here.
   */
  send(build: (pipeline: ChainableCommander) => void): Promise<PipelineResults>;
}

interface Waiting {
  from: number;
  to: number;
  resolve: (results: PipelineResults) => void;
  reject: (err: unknown) => void;
}

const shared = new WeakMap<Redis, RedisRoundTrips>();

/**
 * The round trips of a command connection, shared by everything in the process that uses it (one per client, as
 * `redisHealth`). A socket write and the reply's read event cost tens of microseconds of CPU in the process and in
 * Redis, more than a small command itself: a reconnect storm's handshakes (the denylist check, the connection cap,
 * the membership directory, presence) each made their own, so the same poll of the event loop wrote to Redis once per
 * handshake and step. Here the commands queued in one turn leave together, on `setImmediate`: after that turn's I/O
 * callbacks, promise jobs and ticks, so no caller waits more than the rest of the turn it queued in.
 */
export function redisRoundTrips(client: Redis): RedisRoundTrips {
  const known = shared.get(client);
  if (known) return known;
  let pipeline: ChainableCommander | undefined;
  let waiting: Waiting[] = [];

  const flush = () => {
    const leaving = pipeline;
    const answering = waiting;
    pipeline = undefined;
    waiting = [];
    if (!leaving || leaving.length === 0) return;
    leaving.exec().then(
      (results) => {
        for (const { from, to, resolve, reject } of answering) {
          if (!results || results.length < to) reject(new Error('pipeline discarded'));
          else resolve(results.slice(from, to) as PipelineResults);
        }
      },
      (err: unknown) => {
        for (const { reject } of answering) reject(err);
      },
    );
  };

  const trips: RedisRoundTrips = {
    send(build) {
      if (!pipeline) {
        pipeline = client.pipeline();
        setImmediate(flush);
      }
      const from = pipeline.length;
      build(pipeline);
      const to = pipeline.length;
      if (to === from) return Promise.resolve([]);
      return new Promise<PipelineResults>((resolve, reject) => waiting.push({ from, to, resolve, reject }));
    },
  };
  shared.set(client, trips);
  return trips;
}
