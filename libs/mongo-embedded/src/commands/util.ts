import type { Document } from 'bson';
import type { Collection } from '../engine/collection';
import { type Doc, isPlainObject } from '../engine/document';
import { MongoCommandError } from '../engine/errors';
import type { CommandContext } from './context';

/** The collection name a command addresses (its first field's value). */
export function collectionName(cmd: Document, field: string): string {
  const name = cmd[field];
  if (typeof name !== 'string' || name.length === 0) {
    throw new MongoCommandError(73, `collection name has invalid type ${typeof name}`);
  }
  return name;
}

export function existing(ctx: CommandContext, name: string): Collection | undefined {
  return ctx.store.collection(ctx.db, name);
}

export function optionalDoc(cmd: Document, field: string): Doc | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v))
    throw new MongoCommandError(
      14,
      `BSON field '${field}' is the wrong type '${typeof v}', expected type 'object'`,
    );
  return v;
}

export function optionalNumber(cmd: Document, field: string): number | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new MongoCommandError(14, `BSON field '${field}' is the wrong type, expected a number`);
  return n;
}

export function docArray(cmd: Document, field: string): Doc[] {
  const v = cmd[field];
  if (!Array.isArray(v))
    throw new MongoCommandError(40414, `BSON field '${field}' is missing but a required field`);
  return v as Doc[];
}
