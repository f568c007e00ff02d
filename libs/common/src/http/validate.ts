import type { z } from 'zod';
import { AppError } from '../errors';

/** Parses `input` with `schema` or throws a 400 `validation_error` naming the first bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw AppError.badRequest(
    `${where}${issue?.message ?? 'invalid input'}`,
    'validation_error',
    result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  );
}
