import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Binary, type Document, MongoClient } from 'mongodb';
import mongoose, { Schema } from 'mongoose';
import { startEmbeddedMongo, type StartedEmbeddedMongo } from '../src/index';
import { CLIENT_OPTIONS, embeddedOnly } from './helpers';

// Issue 20: the store accepted anyone who could reach its port. With `auth` set it requires
// SCRAM-SHA-256 (what the official driver performs by default) before anything but the handshake.

const USER = 'cohort';
// Characters that need URL-encoding, and a non-ASCII one that SASLprep leaves as it is.
const PASSWORD = `p@ss:w/rd%${randomBytes(8).toString('hex')}é`;

let store: StartedEmbeddedMongo;

function url(user: string | undefined, password?: string, extra = ''): string {
  const { host } = new URL(store.uri);
  const creds = user ? `${encodeURIComponent(user)}:${encodeURIComponent(password ?? '')}@` : '';
  return `mongodb://${creds}${host}/app?authSource=admin${extra}`;
}

function text(payload: unknown): string {
  const bin = payload as Binary;
  return Buffer.from(bin.buffer.subarray(0, bin.position)).toString('utf8');
}

beforeAll(async () => {
  store = await startEmbeddedMongo({ auth: { username: USER, password: PASSWORD } });
});

afterAll(async () => {
  await store?.close();
});

describe('authentication (SCRAM-SHA-256)', () => {
  embeddedOnly('lets mongoose in with the right credentials', async () => {
    const conn = mongoose.createConnection(url(USER, PASSWORD), {
      ...CLIENT_OPTIONS,
      bufferCommands: false,
    });
    try {
      await conn.asPromise();
      const Note = conn.model('Note', new Schema({ body: { type: String, required: true } }));
      await Note.init();
      await Note.create({ body: 'hello' });
      expect((await Note.findOne({ body: 'hello' }).lean())?.body).toBe('hello');
      const status = await conn.db?.command({ connectionStatus: 1 });
      expect(status?.authInfo.authenticatedUsers).toEqual([{ user: USER, db: 'admin' }]);
    } finally {
      await conn.close();
    }
  });

  embeddedOnly('fails a wrong password with code 18, whatever the mechanism named', async () => {
    for (const extra of ['', '&authMechanism=SCRAM-SHA-256']) {
      const client = new MongoClient(url(USER, `${PASSWORD}x`, extra), CLIENT_OPTIONS);
      await expect(client.connect()).rejects.toMatchObject({ code: 18 });
      await client.close();
    }
    const stranger = new MongoClient(url('mallory', PASSWORD), CLIENT_OPTIONS);
    await expect(stranger.connect()).rejects.toMatchObject({ code: 18 });
    await stranger.close();
  });

  embeddedOnly('answers code 13 to everything but the handshake without credentials', async () => {
    const client = await new MongoClient(url(undefined), CLIENT_OPTIONS).connect();
    try {
      expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
      expect(await client.db('admin').command({ hello: 1 })).toMatchObject({ ok: 1 });
      const db = client.db('app');
      await expect(db.collection('notes').findOne({})).rejects.toMatchObject({
        code: 13,
        codeName: 'Unauthorized',
      });
      await expect(db.collection('notes').insertOne({ body: 'x' })).rejects.toMatchObject({ code: 13 });
      await expect(db.command({ listCollections: 1 })).rejects.toMatchObject({ code: 13 });
      await expect(client.db('admin').command({ listDatabases: 1 })).rejects.toMatchObject({ code: 13 });
    } finally {
      await client.close();
    }
  });

  embeddedOnly('runs the explicit saslStart/saslContinue exchange, RFC 5802 step by step', async () => {
    // One pooled connection: the exchange authenticates the connection that later runs the find.
    const client = await new MongoClient(url(undefined), { ...CLIENT_OPTIONS, maxPoolSize: 1 }).connect();
    try {
      const admin = client.db('admin');
      const clientNonce = randomBytes(18).toString('base64');
      const clientFirstBare = `n=${USER},r=${clientNonce}`;
      const first: Document = await admin.command({
        saslStart: 1,
        mechanism: 'SCRAM-SHA-256',
        payload: new Binary(Buffer.from(`n,,${clientFirstBare}`)),
        autoAuthorize: 1,
      });
      expect(first.done).toBe(false);
      const serverFirst = text(first.payload);
      const attrs = new Map(serverFirst.split(',').map((p) => [p[0], p.slice(2)] as [string, string]));
      const nonce = attrs.get('r') as string;
      expect(nonce.startsWith(clientNonce)).toBe(true);
      expect(Number(attrs.get('i'))).toBeGreaterThanOrEqual(4096);
      const salted = pbkdf2Sync(
        PASSWORD.normalize('NFKC'),
        Buffer.from(attrs.get('s') as string, 'base64'),
        Number(attrs.get('i')),
        32,
        'sha256',
      );
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const signature = createHmac('sha256', storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number))).toString('base64');

      // Before the exchange completes, the connection is still refused.
      await expect(client.db('app').collection('notes').findOne({})).rejects.toMatchObject({ code: 13 });

      const second: Document = await admin.command({
        saslContinue: 1,
        conversationId: first.conversationId,
        payload: new Binary(Buffer.from(`${withoutProof},p=${proof}`)),
      });
      const serverKey = createHmac('sha256', salted).update('Server Key').digest();
      const expectedV = createHmac('sha256', serverKey).update(authMessage).digest('base64');
      expect(text(second.payload)).toBe(`v=${expectedV}`);
      // Without skipEmptyExchange the client ends with an empty round, as RFC 5802 describes.
      expect(second.done).toBe(false);
      const third: Document = await admin.command({
        saslContinue: 1,
        conversationId: first.conversationId,
        payload: new Binary(Buffer.alloc(0)),
      });
      expect(third.done).toBe(true);
      expect(await client.db('app').collection('notes').findOne({})).toBeDefined();
    } finally {
      await client.close();
    }
  });

  embeddedOnly('refuses a forged proof and a replayed conversation', async () => {
    const client = await new MongoClient(url(undefined), { ...CLIENT_OPTIONS, maxPoolSize: 1 }).connect();
    try {
      const admin = client.db('admin');
      const clientNonce = randomBytes(18).toString('base64');
      const first: Document = await admin.command({
        saslStart: 1,
        mechanism: 'SCRAM-SHA-256',
        payload: new Binary(Buffer.from(`n,,n=${USER},r=${clientNonce}`)),
        options: { skipEmptyExchange: true },
      });
      const nonce = text(first.payload).split(',')[0]?.slice(2);
      const forged = randomBytes(32).toString('base64');
      const cont = {
        saslContinue: 1,
        conversationId: first.conversationId,
        payload: new Binary(Buffer.from(`c=biws,r=${nonce},p=${forged}`)),
      };
      await expect(admin.command(cont)).rejects.toMatchObject({ code: 18 });
      await expect(admin.command(cont)).rejects.toMatchObject({ code: 17 });
      await expect(
        admin.command({ saslStart: 1, mechanism: 'PLAIN', payload: new Binary(Buffer.from('x')) }),
      ).rejects.toMatchObject({ code: 334 });
      await expect(client.db('app').collection('notes').findOne({})).rejects.toMatchObject({ code: 13 });
    } finally {
      await client.close();
    }
  });

  embeddedOnly('binds to loopback unless told otherwise', () => {
    expect(new URL(store.uri).hostname).toBe('127.0.0.1');
    expect(store.internals.server.address()).toMatchObject({ address: '127.0.0.1' });
  });
});
