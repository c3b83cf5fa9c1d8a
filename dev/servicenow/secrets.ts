import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares SHA-256 digests, so neither the length nor the content of a secret leaks through timing. */
export function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (given === null || given === undefined) return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}
