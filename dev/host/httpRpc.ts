/**
 * Conversions between Node's HTTP objects and the RPC `http` typed data the worker protocol carries.
 *
 * Request: the shape the Functions host sends for an HTTP trigger (method, full url, headers, query, route
 * params, and the body as the RAW bytes; the library's HttpRequest builds a fetch `Request` from
 * `body.bytes`, so signatures computed over `await req.arrayBuffer()` see exactly the bytes on the wire).
 * The worker advertises `UseNullableValueDictionaryForHttp`, so the host also fills the nullable* maps.
 *
 * Response: what the library's `toRpcHttp` produces (statusCode string, headers map, cookies, body as bytes)
 * written back to the client byte-for-byte, with cookies serialised like ASP.NET Core's
 * `Response.Cookies.Append` (which the host uses).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { RpcHttpCookie, RpcHttpData, RpcNullableString, RpcTypedData } from './coreTypes.js';

export interface HttpRequestParts {
  method: string;
  /** Absolute URL including the query string. */
  url: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
  /** Raw request body bytes (possibly empty). */
  body: Buffer;
}

export interface RpcHttpRequest {
  http: RpcHttpData;
  triggerMetadata: Record<string, RpcTypedData>;
}

function toNullable(map: Record<string, string>): Record<string, RpcNullableString> {
  const out: Record<string, RpcNullableString> = {};
  for (const [key, value] of Object.entries(map)) out[key] = { value };
  return out;
}

/** Flatten Node's headers: repeated headers arrive joined by ", " already, except set-cookie (array). */
export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The host's query map: one string per key; repeated keys are joined with "," (ASP.NET StringValues.ToString()).
 * So `?a=1&a=2` reaches the function as `request.query.get('a') === '1,2'`, as in Azure.
 */
export function queryToRecord(search: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of new Set(search.keys())) out[key] = search.getAll(key).join(',');
  return out;
}

export function toRpcHttpRequest(parts: HttpRequestParts): RpcHttpRequest {
  const url = new URL(parts.url);
  const headers = flattenHeaders(parts.headers);
  const query = queryToRecord(url.searchParams);
  const http: RpcHttpData = {
    method: parts.method,
    url: parts.url,
    headers,
    nullableHeaders: toNullable(headers),
    query,
    nullableQuery: toNullable(query),
    params: { ...parts.params },
    nullableParams: toNullable(parts.params),
  };
  if (parts.body.length > 0) {
    // A copy in its own ArrayBuffer: Buffers from the pool share memory with other requests.
    const bytes = new Uint8Array(parts.body.length);
    bytes.set(parts.body);
    http.body = { bytes };
    http.rawBody = { bytes };
  }
  // The host also exposes request data as trigger metadata (the library only reads it in stream mode).
  const triggerMetadata: Record<string, RpcTypedData> = {
    Query: { json: JSON.stringify(query) },
    Headers: { json: JSON.stringify(headers) },
  };
  for (const [key, value] of Object.entries(parts.params)) {
    if (!(key in triggerMetadata)) triggerMetadata[key] = { string: value };
  }
  return { http, triggerMetadata };
}

/** Bytes of an RPC typed-data value (http bodies are bytes from `toRpcHttp`; the rest for completeness). */
export function typedDataToBuffer(data: RpcTypedData | null | undefined): Buffer | undefined {
  if (!data) return undefined;
  const bytes = data.bytes ?? data.stream;
  if (bytes) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number') return Buffer.from(String(data.int), 'utf8');
  if (typeof data.double === 'number') return Buffer.from(String(data.double), 'utf8');
  return undefined;
}

/** Uri.EscapeDataString: everything but RFC 3986 unreserved characters is percent-encoded. */
function escapeDataString(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Serialise an RPC cookie as ASP.NET Core's SetCookieHeaderValue does (attribute names in lower case). */
export function serializeCookie(cookie: RpcHttpCookie): string {
  let out = `${cookie.name ?? ''}=${escapeDataString(cookie.value ?? '')}`;
  const expires = cookie.expires?.value?.seconds;
  if (typeof expires === 'number') out += `; expires=${new Date(expires * 1000).toUTCString()}`;
  const maxAge = cookie.maxAge?.value;
  if (typeof maxAge === 'number') out += `; max-age=${Math.trunc(maxAge)}`;
  if (cookie.domain?.value) out += `; domain=${cookie.domain.value}`;
  if (cookie.path?.value) out += `; path=${cookie.path.value}`;
  if (cookie.secure?.value) out += '; secure';
  switch (cookie.sameSite) {
    case 'lax':
      out += '; samesite=lax';
      break;
    case 'strict':
      out += '; samesite=strict';
      break;
    case 'explicitNone':
      out += '; samesite=none';
      break;
    default:
      break; // 'none' = not specified
  }
  if (cookie.httpOnly?.value) out += '; httponly';
  return out;
}

// Framing headers are the server's business (Kestrel computes them from the body it writes).
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer']);

function bodyAllowed(status: number, method: string): boolean {
  return method.toUpperCase() !== 'HEAD' && status !== 204 && status !== 304 && !(status >= 100 && status < 200);
}

/**
 * Write the function's RPC http response. `undefined` (the function returned no response) gives 200 with an
 * empty body, which is what the host's FunctionInvocationMiddleware answers when no response was set.
 */
export function writeRpcHttpResponse(res: ServerResponse, http: RpcHttpData | null | undefined, method: string): void {
  if (!http) {
    res.statusCode = 200;
    res.setHeader('content-length', '0');
    res.end();
    return;
  }
  const parsed = Number.parseInt(http.statusCode ?? '', 10);
  const status = Number.isInteger(parsed) && parsed >= 100 && parsed <= 999 ? parsed : 200;

  const setCookies: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(http.headers ?? {})) {
    const lower = name.toLowerCase();
    if (FRAMING_HEADERS.has(lower)) continue;
    if (lower === 'set-cookie') setCookies.push(value);
    else headers[name] = value;
  }
  for (const cookie of http.cookies ?? []) setCookies.push(serializeCookie(cookie));

  const body = bodyAllowed(status, method) ? typedDataToBuffer(http.body) : undefined;

  // Validate everything before writing anything, so a bad header still lets the caller answer 500.
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);
  if (bodyAllowed(status, method)) res.setHeader('content-length', String(body?.length ?? 0));
  res.end(body);
}
