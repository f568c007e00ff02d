import { connect, type Socket } from 'node:net';
import { deserialize, type Document, Long, serialize } from 'bson';
import { startEmbeddedMongo, type StartedEmbeddedMongo } from '../src/index';
import { embeddedOnly } from './helpers';

let server: StartedEmbeddedMongo | undefined;

beforeAll(async () => {
  if (!process.env.MONGO_URL) server = await startEmbeddedMongo();
});

afterAll(async () => {
  await server?.close();
});

function header(length: number, requestId: number, opCode: number): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeInt32LE(length, 0);
  buf.writeInt32LE(requestId, 4);
  buf.writeInt32LE(0, 8);
  buf.writeInt32LE(opCode, 12);
  return buf;
}

function opMsg(requestId: number, body: Document, flags = 0, sequence?: [string, Document[]]): Buffer {
  const parts: Buffer[] = [];
  const flagBuf = Buffer.alloc(4);
  flagBuf.writeUInt32LE(flags, 0);
  parts.push(flagBuf, Buffer.from([0]), Buffer.from(serialize(body)));
  if (sequence) {
    const id = Buffer.from(`${sequence[0]}\0`);
    const docs = sequence[1].map((d) => Buffer.from(serialize(d)));
    const size = 4 + id.length + docs.reduce((n, d) => n + d.length, 0);
    const sizeBuf = Buffer.alloc(4);
    sizeBuf.writeInt32LE(size, 0);
    parts.push(Buffer.from([1]), sizeBuf, id, ...docs);
  }
  const payload = Buffer.concat(parts);
  return Buffer.concat([header(16 + payload.length, requestId, 2013), payload]);
}

function opQuery(requestId: number, ns: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const name = Buffer.from(`${ns}\0`);
  const skipReturn = Buffer.alloc(8);
  skipReturn.writeInt32LE(-1, 4);
  const body = Buffer.from(serialize(query));
  const payload = Buffer.concat([flags, name, skipReturn, body]);
  return Buffer.concat([header(16 + payload.length, requestId, 2004), payload]);
}

interface Reply {
  responseTo: number;
  opCode: number;
  doc: Document;
}

function open(): Promise<{ socket: Socket; next(): Promise<Reply>; closed: Promise<void> }> {
  const s = server as StartedEmbeddedMongo;
  return new Promise((resolve, reject) => {
    const socket = connect(s.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const waiters: Array<(r: Reply) => void> = [];
    const replies: Reply[] = [];
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= buf.readInt32LE(0)) {
        const len = buf.readInt32LE(0);
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        const opCode = msg.readInt32LE(12);
        const docStart = opCode === 1 ? 36 : 21;
        const reply = {
          responseTo: msg.readInt32LE(8),
          opCode,
          doc: deserialize(msg.subarray(docStart), { promoteLongs: false }),
        };
        const waiter = waiters.shift();
        if (waiter) waiter(reply);
        else replies.push(reply);
      }
    });
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        next: () => {
          const ready = replies.shift();
          return ready ? Promise.resolve(ready) : new Promise((r) => waiters.push(r));
        },
      }),
    );
  });
}

describe('wire protocol', () => {
  embeddedOnly('answers the legacy OP_QUERY handshake with an OP_REPLY', async () => {
    const conn = await open();
    conn.socket.write(
      opQuery(7, 'admin.$cmd', { ismaster: 1, helloOk: true, client: { driver: { name: 'raw' } } }),
    );
    const reply = await conn.next();
    expect(reply).toMatchObject({ responseTo: 7, opCode: 1 });
    expect(reply.doc).toMatchObject({
      ok: 1,
      ismaster: true,
      helloOk: true,
      minWireVersion: 0,
      maxWireVersion: 21,
    });
    expect(reply.doc.topologyVersion).toBeUndefined();
    expect(reply.doc.compression).toBeUndefined();
    conn.socket.destroy();
  });

  embeddedOnly('merges kind-1 document sequences into the command', async () => {
    const conn = await open();
    conn.socket.write(opMsg(1, { insert: 'seq', $db: 'wire' }, 0, ['documents', [{ _id: 1 }, { _id: 2 }]]));
    expect((await conn.next()).doc).toMatchObject({ n: 2, ok: 1 });
    conn.socket.write(opMsg(2, { count: 'seq', $db: 'wire' }));
    expect((await conn.next()).doc).toMatchObject({ n: 2, ok: 1 });
    conn.socket.destroy();
  });

  embeddedOnly('never replies to a moreToCome message, and answers the next one in order', async () => {
    const conn = await open();
    conn.socket.write(
      opMsg(10, { insert: 'quiet', documents: [{ a: 1 }], $db: 'wire', writeConcern: { w: 0 } }, 2),
    );
    conn.socket.write(opMsg(11, { endSessions: [], $db: 'admin' }, 2));
    conn.socket.write(opMsg(12, { count: 'quiet', $db: 'wire' }));
    const reply = await conn.next();
    expect(reply.responseTo).toBe(12);
    expect(reply.doc.n).toBe(1);
    conn.socket.destroy();
  });

  embeddedOnly('answers cursor ids as Int64 and getMore until exhausted', async () => {
    const conn = await open();
    conn.socket.write(
      opMsg(1, { insert: 'cur', documents: Array.from({ length: 5 }, (_, i) => ({ i })), $db: 'wire' }),
    );
    await conn.next();
    conn.socket.write(opMsg(2, { find: 'cur', batchSize: 2, $db: 'wire' }));
    const first = (await conn.next()).doc;
    expect(first.cursor.firstBatch).toHaveLength(2);
    expect(first.cursor.id).toBeInstanceOf(Long);
    expect((first.cursor.id as Long).isZero()).toBe(false);
    conn.socket.write(opMsg(3, { getMore: first.cursor.id, collection: 'cur', batchSize: 10, $db: 'wire' }));
    const more = (await conn.next()).doc;
    expect(more.cursor.nextBatch).toHaveLength(3);
    expect((more.cursor.id as Long).isZero()).toBe(true);
    conn.socket.destroy();
  });

  embeddedOnly('closes a connection that sends garbage, and keeps serving others', async () => {
    const bad = await open();
    bad.socket.write(Buffer.from([0x05, 0, 0, 0, 1, 2, 3, 4]));
    await bad.closed;
    const good = await open();
    good.socket.write(opMsg(1, { ping: 1, $db: 'admin' }));
    expect((await good.next()).doc).toMatchObject({ ok: 1 });
    good.socket.destroy();
  });
});
