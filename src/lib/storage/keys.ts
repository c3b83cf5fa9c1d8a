/**
 * Table keys may not contain '/', '\\', '#', '?' or control characters (Azure Tables data model), but a
 * webhook-id may. Those characters and '%' itself are percent-encoded, so keys stay readable and unique.
 */
export function toKey(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[/\\#?%\u0000-\u001f\u007f-\u009f]/g, (c) =>
    Array.from(Buffer.from(c, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export function fromKey(key: string): string {
  return decodeURIComponent(key);
}

/** Fixed-width decimal milliseconds, so that row keys sort by time. */
export function timeKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(15, '0');
}
