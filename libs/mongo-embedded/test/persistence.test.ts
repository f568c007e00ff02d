import { fork } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo, type StartedEmbeddedMongo } from '../src/index';
import { CLIENT_OPTIONS, embeddedOnly } from './helpers';

let dirs: string[] = [];

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mongo-embedded-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

async function withClient<T>(
  server: StartedEmbeddedMongo,
  fn: (client: MongoClient) => Promise<T>,
): Promise<T> {
  const client = await new MongoClient(`${server.uri}/persist`, CLIENT_OPTIONS).connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function journalFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('journal-'));
}

describe('persistence', () => {
  embeddedOnly('keeps documents, collections and unique indexes across a restart', async () => {
    const dataDir = freshDir();
    const first = await startEmbeddedMongo({ dataDir });
    await withClient(first, async (client) => {
      const users = client.db('persist').collection('users');
      await users.createIndex({ email: 1 }, { unique: true });
      await users.insertMany([{ email: 'a@x' }, { email: 'b@x' }, { email: 'c@x' }]);
      await users.updateOne({ email: 'b@x' }, { $set: { name: 'Bee' } });
      await users.deleteOne({ email: 'c@x' });
      await client
        .db('persist')
        .collection('empty')
        .insertOne({})
        .then(() => client.db('persist').collection('empty').deleteMany({}));
    });
    await first.close();

    const second = await startEmbeddedMongo({ dataDir });
    await withClient(second, async (client) => {
      const users = client.db('persist').collection('users');
      const docs = await users.find({}, { projection: { _id: 0 }, sort: { email: 1 } }).toArray();
      expect(docs).toEqual([{ email: 'a@x' }, { email: 'b@x', name: 'Bee' }]);
      await expect(users.insertOne({ email: 'a@x' })).rejects.toMatchObject({ code: 11000 });
      const names = (await client.db('persist').listCollections().toArray()).map((c) => c.name).sort();
      expect(names).toEqual(['empty', 'users']);
    });
    await second.close();
  });

  embeddedOnly('ignores a torn last journal record and keeps appending after it', async () => {
    const dataDir = freshDir();
    const first = await startEmbeddedMongo({ dataDir });
    await withClient(first, (client) =>
      client
        .db('persist')
        .collection('t')
        .insertMany([{ i: 1 }, { i: 2 }]),
    );
    await first.close();
    const [journal] = journalFiles(dataDir);
    // Half a record: a length header promising more bytes than follow.
    appendFileSync(join(dataDir, journal as string), Buffer.from([0xff, 0x00, 0x00, 0x00, 0x12, 0x34]));

    const second = await startEmbeddedMongo({ dataDir });
    await withClient(second, (client) => client.db('persist').collection('t').insertOne({ i: 3 }));
    await second.close();
    const third = await startEmbeddedMongo({ dataDir });
    const values = await withClient(third, async (client) =>
      (
        await client
          .db('persist')
          .collection('t')
          .find({}, { sort: { i: 1 } })
          .toArray()
      ).map((d) => d.i as number),
    );
    await third.close();
    expect(values).toEqual([1, 2, 3]);
  });

  embeddedOnly('compacts the journal into a snapshot and loads from it', async () => {
    const dataDir = freshDir();
    const first = await startEmbeddedMongo({ dataDir, compactThresholdBytes: 16 * 1024 });
    await withClient(first, async (client) => {
      const coll = client.db('persist').collection('c');
      await coll.createIndex({ k: 1 }, { unique: true });
      for (let batch = 0; batch < 10; batch++) {
        await coll.insertMany(
          Array.from({ length: 50 }, (_, i) => ({ k: batch * 50 + i, pad: 'p'.repeat(100) })),
        );
      }
      await coll.deleteMany({ k: { $gte: 400 } });
    });
    await first.close();
    expect(existsSync(join(dataDir, 'snapshot.bson'))).toBe(true);
    expect(journalFiles(dataDir)).toHaveLength(1);
    expect(journalFiles(dataDir)[0]).not.toBe('journal-0.log');

    const second = await startEmbeddedMongo({ dataDir });
    await withClient(second, async (client) => {
      const coll = client.db('persist').collection('c');
      expect(await coll.countDocuments()).toBe(400);
      await expect(coll.insertOne({ k: 7 })).rejects.toMatchObject({ code: 11000 });
    });
    await second.close();
  });

  embeddedOnly('refuses a data directory another live store holds', async () => {
    const dataDir = freshDir();
    const first = await startEmbeddedMongo({ dataDir });
    await expect(startEmbeddedMongo({ dataDir })).rejects.toThrow(/already open|in use/);
    await first.close();
    const again = await startEmbeddedMongo({ dataDir });
    await again.close();
  });

  embeddedOnly(
    'survives SIGKILL mid-write with every acknowledged write intact',
    async () => {
      const dataDir = freshDir();
      const child = fork(join(__dirname, 'fixtures', 'writer.ts'), [dataDir], {
        execArgv: ['--conditions=source', '--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let acked = 0;
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      await new Promise<void>((resolve, reject) => {
        child.on('message', (msg: { acked: number }) => {
          acked = msg.acked;
          // Past several compactions (64 KiB threshold), then kill without warning.
          if (acked >= 1500) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', (code) => {
          if (acked < 1500) reject(new Error(`writer exited early with code ${String(code)}`));
        });
      });
      expect(await exited).toBe('SIGKILL');

      // The dead writer's lock is stale: a new store takes the directory over.
      const server = await startEmbeddedMongo({ dataDir });
      const ns = await withClient(server, async (client) =>
        (
          await client
            .db('killtest')
            .collection('items')
            .find({}, { projection: { n: 1 } })
            .toArray()
        ).map((d) => d.n as number),
      );
      await server.close();
      expect(ns.length).toBeGreaterThanOrEqual(acked);
      expect(new Set(ns).size).toBe(ns.length);
      expect(Math.max(...ns)).toBe(ns.length);
    },
    60_000,
  );

  // Issue 20: the journal holds password and refresh-token hashes and every message.
  embeddedOnly('keeps the data directory and its files readable by their owner only', async () => {
    const parent = freshDir();
    const dataDir = join(parent, 'nested', 'mongo');
    const previousUmask = process.umask(0o022);
    try {
      const modes = (): Record<string, string> => {
        const out: Record<string, string> = { '.': (statSync(dataDir).mode & 0o777).toString(8) };
        for (const f of readdirSync(dataDir)) out[f] = (statSync(join(dataDir, f)).mode & 0o777).toString(8);
        return out;
      };
      const first = await startEmbeddedMongo({ dataDir, compactThresholdBytes: 16 * 1024 });
      await withClient(first, async (client) => {
        const coll = client.db('persist').collection('secrets');
        await coll.insertMany(Array.from({ length: 300 }, (_, i) => ({ i, hash: 'x'.repeat(100) })));
        await coll.insertOne({ last: true });
      });
      const live = modes();
      expect(Object.keys(live)).toEqual(expect.arrayContaining(['.', 'LOCK', 'snapshot.bson']));
      expect(live).toEqual(Object.fromEntries(Object.keys(live).map((k) => [k, k === '.' ? '700' : '600'])));
      await first.close();

      // A directory left open by an earlier version is tightened when the store opens it.
      chmodSync(dataDir, 0o755);
      for (const f of readdirSync(dataDir)) chmodSync(join(dataDir, f), 0o644);
      const second = await startEmbeddedMongo({ dataDir });
      const reopened = modes();
      expect(reopened).toEqual(
        Object.fromEntries(Object.keys(reopened).map((k) => [k, k === '.' ? '700' : '600'])),
      );
      await second.close();
    } finally {
      process.umask(previousUmask);
    }
  });
});
