import { crc32 } from 'node:zlib';
import { deserialize, type Document, serialize } from 'bson';

/** Frames one record: [u32 payload length][u32 crc32 of payload][BSON payload]. */
export function frameRecord(doc: Document): Buffer {
  const payload = serialize(doc);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

export interface ReadResult {
  records: Document[];
  /** Bytes of complete, valid records; anything after is a torn or damaged tail. */
  validBytes: number;
}

/** Reads records up to the first torn or damaged one. */
export function readRecords(buf: Buffer): ReadResult {
  const records: Document[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const length = buf.readUInt32LE(offset);
    const sum = buf.readUInt32LE(offset + 4);
    const end = offset + 8 + length;
    if (length < 5 || end > buf.length) break;
    const payload = buf.subarray(offset + 8, end);
    if (crc32(payload) !== sum) break;
    records.push(deserialize(payload));
    offset = end;
  }
  return { records, validBytes: offset };
}
