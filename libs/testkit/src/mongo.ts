import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@cohort/mongo-embedded';

export interface TestMongo {
  /** A connection string to a database of this test's own. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A MongoDB for one test file: the real server at `MONGO_URL` when set (a fresh database, dropped
 * afterwards), else the embedded wire-compatible store. The code under test runs the same either way.
 */
export async function startTestMongo(prefix = 'test'): Promise<TestMongo> {
  const dbName = `${prefix}_${randomBytes(4).toString('hex')}`;
  const external = process.env.MONGO_URL;
  if (external) {
    const url = withDatabase(external, dbName);
    return {
      url,
      async close() {
        const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
        try {
          await client.connect();
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  }
  const server = await startEmbeddedMongo();
  return { url: `${server.uri}/${dbName}`, close: () => server.close() };
}

/** Replaces the database path of a MongoDB connection string, keeping its options. */
export function withDatabase(url: string, dbName: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${dbName}`;
  return parsed.toString();
}

/** Reads how many commands a MongoDB has received, by command name (serverStatus `metrics.commands`). */
export interface StoreCommandCounter {
  /** Totals since the server started; the difference over a run is what the run cost the store. */
  commands(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/**
 * A counter over one connection of its own (opened on first use). The embedded store reports these figures with
 * mongod's semantics, so a bench reads store round trips the same way from either.
 */
export function storeCommandCounter(mongoUrl: string): StoreCommandCounter {
  let client: MongoClient | undefined;
  return {
    async commands() {
      client ??= await new MongoClient(mongoUrl, {
        maxPoolSize: 1,
        serverSelectionTimeoutMS: 5000,
      }).connect();
      const status = await client.db('admin').command({ serverStatus: 1 });
      const metrics = status.metrics as { commands?: Record<string, { total?: unknown }> } | undefined;
      return Object.fromEntries(
        Object.entries(metrics?.commands ?? {}).map(([name, counts]) => [name, Number(counts.total ?? 0)]),
      );
    },
    async close() {
      await client?.close();
    },
  };
}
