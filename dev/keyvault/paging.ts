/**
 * `maxresults` + `nextLink` paging. The continuation (`$skiptoken`) is an opaque
 * base64url marker naming the last item served, so pages stay consistent when
 * secrets are added or removed between page requests.
 */
import { badParameter } from './errors.js';

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 25;

export interface PageRequest {
  maxResults: number;
  /** true when the caller passed `maxresults` (it is then repeated in the nextLink). */
  explicitMaxResults: boolean;
  after?: string;
}

export function parsePageRequest(query: URLSearchParams): PageRequest {
  const raw = query.get('maxresults');
  let maxResults = DEFAULT_PAGE_SIZE;
  if (raw !== null) {
    const n = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= 1 && n <= MAX_PAGE_SIZE)) {
      throw badParameter(`Invalid value '${raw.slice(0, 20)}' for maxresults: it must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
    }
    maxResults = n;
  }
  const token = query.get('$skiptoken');
  return { maxResults, explicitMaxResults: raw !== null, ...(token ? { after: decodeSkipToken(token) } : {}) };
}

function encodeSkipToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

function decodeSkipToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { after?: unknown }).after === 'string') {
      return (parsed as { after: string }).after;
    }
  } catch {
    // fall through
  }
  throw badParameter('The $skiptoken query parameter is invalid.');
}

export interface Page<T> {
  items: T[];
  /** `$skiptoken` for the following page, when there is one. */
  skipToken?: string;
}

/**
 * Cuts one page out of `items`. With `ordered: 'sorted'` the items are sorted ascending
 * by `keyOf` and the page starts after the first key greater than the marker; with
 * `'insertion'` it starts right after the marker item (none if it is gone).
 */
export function takePage<T>(
  items: readonly T[],
  request: PageRequest,
  keyOf: (item: T) => string,
  ordered: 'sorted' | 'insertion',
): Page<T> {
  let start = 0;
  const { after } = request;
  if (after !== undefined) {
    if (ordered === 'sorted') {
      start = items.findIndex((item) => keyOf(item) > after);
      if (start < 0) start = items.length;
    } else {
      const index = items.findIndex((item) => keyOf(item) === after);
      start = index < 0 ? items.length : index + 1;
    }
  }
  const pageItems = items.slice(start, start + request.maxResults);
  const last = pageItems[pageItems.length - 1];
  const more = start + pageItems.length < items.length;
  return { items: pageItems, ...(more && last !== undefined ? { skipToken: encodeSkipToken(keyOf(last)) } : {}) };
}

export function buildNextLink(vaultUrl: string, path: string, apiVersion: string, request: PageRequest, skipToken: string): string {
  const maxResults = request.explicitMaxResults ? `&maxresults=${request.maxResults}` : '';
  return `${vaultUrl}${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${skipToken}${maxResults}`;
}
