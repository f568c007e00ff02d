import { randomBytes } from 'node:crypto';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { startEmbeddedMongo, type StartedEmbeddedMongo } from '../src/index';

/** Set to run this suite against a real MongoDB (e.g. mongodb://localhost:27017/?replicaSet=rs0). */
export const EXTERNAL_URL = process.env.MONGO_URL;

/** Tests that look inside the embedded store (counters, restarts) are skipped against a real server. */
export const embeddedOnly = EXTERNAL_URL ? it.skip : it;

/** Driver options that make a missing reply fail a test instead of hanging it. */
export const CLIENT_OPTIONS: MongoClientOptions = { serverSelectionTimeoutMS: 5000, socketTimeoutMS: 20000 };

export interface TestDb {
  /** Connection string with a database of this test file's own. */
  readonly url: string;
  readonly dbName: string;
  /** The embedded server (undefined against a real MongoDB). */
  readonly embedded: StartedEmbeddedMongo | undefined;
  close(): Promise<void>;
}

function withDatabase(url: string, dbName: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${dbName}`;
  return parsed.toString();
}

/** A fresh database: on the real server at MONGO_URL (dropped afterwards), else on an embedded store. */
export async function openTestDb(prefix: string): Promise<TestDb> {
  const dbName = `${prefix}_${randomBytes(4).toString('hex')}`;
  if (EXTERNAL_URL) {
    const url = withDatabase(EXTERNAL_URL, dbName);
    return {
      url,
      dbName,
      embedded: undefined,
      async close() {
        const client = new MongoClient(url, CLIENT_OPTIONS);
        try {
          await client.connect();
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  }
  const embedded = await startEmbeddedMongo();
  return { url: `${embedded.uri}/${dbName}`, dbName, embedded, close: () => embedded.close() };
}
