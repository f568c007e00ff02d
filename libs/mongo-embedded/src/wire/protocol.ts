import { type Document, deserialize, serialize } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const FLAG_CHECKSUM_PRESENT = 1;
export const FLAG_MORE_TO_COME = 2;

export const MAX_MESSAGE_SIZE = 48_000_000;

export interface MessageHeader {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

/** A request decoded into one command document. */
export interface DecodedRequest {
  header: MessageHeader;
  /** The command body, with kind-1 document sequences merged in as arrays. */
  command: Document;
  /** The database the command targets. */
  db: string;
  /** OP_MSG with moreToCome: the client expects no reply. */
  noReply: boolean;
  legacy: boolean;
}

export class ProtocolError extends Error {}

export function readHeader(buf: Buffer): MessageHeader {
  return {
    length: buf.readInt32LE(0),
    requestId: buf.readInt32LE(4),
    responseTo: buf.readInt32LE(8),
    opCode: buf.readInt32LE(12),
  };
}

function readCString(buf: Buffer, offset: number): { value: string; next: number } {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new ProtocolError('unterminated cstring');
  return { value: buf.toString('utf8', offset, end), next: end + 1 };
}

function readDocument(buf: Buffer, offset: number): { doc: Document; next: number } {
  if (offset + 4 > buf.length) throw new ProtocolError('truncated document');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > buf.length) throw new ProtocolError('bad document size');
  const doc = deserialize(buf.subarray(offset, offset + size));
  return { doc, next: offset + size };
}

function decodeOpMsg(header: MessageHeader, msg: Buffer): DecodedRequest {
  const flags = msg.readUInt32LE(16);
  const end = flags & FLAG_CHECKSUM_PRESENT ? msg.length - 4 : msg.length;
  let offset = 20;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = msg.readUInt8(offset);
    offset += 1;
    if (kind === 0) {
      const { doc, next } = readDocument(msg, offset);
      body = doc;
      offset = next;
    } else if (kind === 1) {
      const size = msg.readInt32LE(offset);
      const sectionEnd = offset + size;
      const id = readCString(msg, offset + 4);
      let pos = id.next;
      const docs: Document[] = [];
      while (pos < sectionEnd) {
        const { doc, next } = readDocument(msg, pos);
        docs.push(doc);
        pos = next;
      }
      sequences.push([id.value, docs]);
      offset = sectionEnd;
    } else throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  for (const [id, docs] of sequences) body[id] = docs;
  const db = typeof body.$db === 'string' ? body.$db : 'admin';
  return { header, command: body, db, noReply: (flags & FLAG_MORE_TO_COME) !== 0, legacy: false };
}

function decodeOpQuery(header: MessageHeader, msg: Buffer): DecodedRequest {
  const ns = readCString(msg, 20);
  const { doc } = readDocument(msg, ns.next + 8);
  const dot = ns.value.indexOf('.');
  const db = dot < 0 ? ns.value : ns.value.slice(0, dot);
  // Legacy commands may wrap the command as {$query: {...}, $readPreference: ...}.
  const command = doc.$query && typeof doc.$query === 'object' ? (doc.$query as Document) : doc;
  return { header, command, db, noReply: false, legacy: true };
}

/** Decodes one complete message (header included). */
export function decodeRequest(msg: Buffer): DecodedRequest {
  const header = readHeader(msg);
  if (header.opCode === OP_MSG) return decodeOpMsg(header, msg);
  if (header.opCode === OP_QUERY) return decodeOpQuery(header, msg);
  throw new ProtocolError(`unsupported opCode ${header.opCode}`);
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buf = Buffer.allocUnsafe(16);
  buf.writeInt32LE(length, 0);
  buf.writeInt32LE(requestId, 4);
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
  return buf;
}

/** An OP_MSG reply carrying one body document. */
export function encodeOpMsg(reply: Document, requestId: number, responseTo: number): Buffer {
  const body = serialize(reply);
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt32LE(0, 0);
  prefix.writeUInt8(0, 4);
  const length = 16 + prefix.length + body.length;
  return Buffer.concat([header(length, requestId, responseTo, OP_MSG), prefix, body], length);
}

/** An OP_REPLY answering a legacy OP_QUERY with one document. */
export function encodeOpReply(reply: Document, requestId: number, responseTo: number): Buffer {
  const body = serialize(reply);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(0, 0); // responseFlags
  fields.writeBigInt64LE(0n, 4); // cursorID
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned
  const length = 16 + fields.length + body.length;
  return Buffer.concat([header(length, requestId, responseTo, OP_REPLY), fields, body], length);
}
