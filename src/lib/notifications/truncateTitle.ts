export const TITLE_MAX_CODE_POINTS = 120;
const ELLIPSIS = '…';

/**
 * Cuts text to at most `max` Unicode code points, ending in "…" when cut. Iterating a string yields
 * code points, so a surrogate pair is never split.
 */
export function truncateTitle(text: string, max = TITLE_MAX_CODE_POINTS): string {
  const points = Array.from(text.replace(/\s+/g, ' ').trim());
  if (points.length <= max) return points.join('');
  if (max <= 1) return max === 1 ? ELLIPSIS : '';
  return points.slice(0, max - 1).join('').trimEnd() + ELLIPSIS;
}
