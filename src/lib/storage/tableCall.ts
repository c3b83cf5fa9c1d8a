import { DependencyError } from '../core/errors.js';

/** The HTTP status of an Azure SDK RestError, if any. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Runs a Tables call. Answers that carry business meaning (404 not found, 409 exists, 412 ETag
 * mismatch) reach the caller as they are; anything else — no answer, 5xx, throttling — becomes a
 * DependencyError, which the edge turns into 503 with Retry-After, never into a lost event.
 */
export async function tableCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 409 || status === 412) throw error;
    throw new DependencyError('tables', operation, error);
  }
}
