import type { z } from 'zod';
import { ProblemError, type FieldError, type ProblemCode } from './errors.js';

/** zod issues as the contract's `errors: [{ path, message }]` (`record.priority`, `rules[0].kind`). */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path
      .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
      .join('') || '(root)',
    message: issue.message,
  }));
}

/** Parses with a schema, or throws a 422 problem with field errors. */
export function parseOr422<T extends z.ZodType>(
  schema: T,
  value: unknown,
  code: ProblemCode,
  detail: string,
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ProblemError(code, detail, { errors: fieldErrors(result.error) });
  return result.data;
}
