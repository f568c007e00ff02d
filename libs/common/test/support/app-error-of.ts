import { AppError } from '../../src/errors';

/** The AppError a rejected call ended in (fails the test when it resolves or rejects with anything else). */
export async function failure(call: Promise<unknown>): Promise<AppError> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}
