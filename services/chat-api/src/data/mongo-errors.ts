/** A MongoDB duplicate-key error (code 11000), as the driver reports it for inserts, updates and findAndModify. */
interface DuplicateKeyError {
  code: 11000;
  keyPattern?: Record<string, unknown>;
  errmsg?: string;
  message?: string;
}

export function isDuplicateKeyError(err: unknown): err is DuplicateKeyError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/**
 * Whether a duplicate-key error came from the index named `indexName` over `fields`. The driver drops
 * `keyPattern` on some paths, so the index name in the message is the fallback.
 */
export function isDuplicateOn(err: unknown, indexName: string, fields: readonly string[]): boolean {
  if (!isDuplicateKeyError(err)) return false;
  if (err.keyPattern) {
    const keys = Object.keys(err.keyPattern);
    return keys.length === fields.length && fields.every((f) => keys.includes(f));
  }
  const text = err.errmsg ?? err.message ?? '';
  return new RegExp(`index: ${indexName}\\b`).test(text);
}
