/** CONTRACT.md §3: retried after about 30 s, 1 m, 5 m, 30 m, 2 h, 6 h (then every 6 h), dead-lettered after 24 h. */
export const RETRY_DELAYS_MS = [30_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000] as const;
export const DEAD_LETTER_AFTER_MS = 24 * 3_600_000;

export type NextStep = { retryAt: number } | { deadLetter: true };

/**
 * When to try again after `attempts` failed attempts of an event whose delivery window opened at `windowStart`. The last
 * attempt is made at the 24-hour mark itself, so that nothing is dead-lettered without one.
 */
export function nextStep(attempts: number, windowStart: number, now: number): NextStep {
  const deadline = windowStart + DEAD_LETTER_AFTER_MS;
  if (now >= deadline) return { deadLetter: true };
  const delay = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length) - 1] ?? RETRY_DELAYS_MS[0];
  return { retryAt: Math.min(now + delay, deadline) };
}
