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
