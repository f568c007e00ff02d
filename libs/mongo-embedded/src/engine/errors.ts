import type { Doc } from './document';

/** MongoDB error codes this store answers with. */
export const CODE_NAMES: Record<number, string> = {
  1: 'InternalError',
  2: 'BadValue',
  9: 'FailedToParse',
  11: 'UserNotFound',
  13: 'Unauthorized',
  17: 'ProtocolError',
  18: 'AuthenticationFailed',
  14: 'TypeMismatch',
  20: 'IllegalOperation',
  26: 'NamespaceNotFound',
  28: 'PathNotViable',
  27: 'IndexNotFound',
  40: 'ConflictingUpdateOperators',
  43: 'CursorNotFound',
  48: 'NamespaceExists',
  50: 'MaxTimeMSExpired',
  52: 'DollarPrefixedFieldName',
  59: 'CommandNotFound',
  66: 'ImmutableField',
  67: 'CannotCreateIndex',
  72: 'InvalidOptions',
  73: 'InvalidNamespace',
  85: 'IndexOptionsConflict',
  86: 'IndexKeySpecsConflict',
  115: 'CommandNotSupported',
  171: 'CannotIndexParallelArrays',
  334: 'MechanismUnavailable',
  251: 'NoSuchTransaction',
  291: 'NoQueryExecutionPlans',
  11000: 'DuplicateKey',
  17261: 'Location17261',
  17262: 'Location17262',
  17313: 'Location17313',
  40218: 'Location40218',
  40414: 'Location40414',
  51024: 'Location51024',
};

/** An error that becomes `{ok:0, code, codeName, errmsg}` (or a write error) on the wire. */
export class MongoCommandError extends Error {
  readonly codeName: string;
  constructor(
    readonly code: number,
    message: string,
    readonly extra: Doc = {},
  ) {
    super(message);
    this.codeName = CODE_NAMES[code] ?? 'UnknownError';
  }

  toReply(): Doc {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }

  toWriteError(index: number): Doc {
    return { index, code: this.code, errmsg: this.message, ...this.extra };
  }
}

export function badValue(message: string): MongoCommandError {
  return new MongoCommandError(2, message);
}

/** Maps anything thrown while running a command (mingo errors included) to a MongoDB error. */
export function toMongoError(err: unknown): MongoCommandError {
  if (err instanceof MongoCommandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/conflict/i.test(message)) return new MongoCommandError(40, message);
  return new MongoCommandError(2, message);
}
