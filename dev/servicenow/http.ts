/** Small node:http helpers: bounded bodies, form parsing, JSON/HTML answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** OAuth forms and dev helper bodies are small; a bigger body is drained and refused. */
export const MAX_BODY_BYTES = 256 * 1024;

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body exceeds ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) chunks.length = 0; // keep draining so an answer can still be written
      else chunks.push(chunk);
    });
    req.once('end', () => (size > limit ? reject(new BodyTooLargeError(limit)) : resolve(Buffer.concat(chunks))));
    req.once('error', reject);
  });
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function isForm(req: IncomingMessage): boolean {
  return mediaType(req) === 'application/x-www-form-urlencoded';
}

/** The names that occur more than once (RFC 6749 §3.1 and §3.2: parameters MUST NOT repeat). */
export function repeatedParams(params: URLSearchParams): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of params.keys()) (seen.has(name) ? repeated : seen).add(name);
  return [...repeated];
}

export type Headers = Record<string, string>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    // ServiceNow's own spelling of the header.
    'content-type': 'application/json;charset=UTF-8',
    'content-length': String(Buffer.byteLength(payload)),
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(payload);
}

/** The OAuth endpoints' answers must not be cached (RFC 6749 §5.1). */
export const NO_STORE: Headers = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Headers = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(html)),
    'x-content-type-options': 'nosniff',
    // Inline styles only; no scripts, no framing (the sign-in page is a clickjacking target on a real instance).
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    ...NO_STORE,
    ...headers,
  });
  res.end(html);
}

/** A fault body: JSON unless it is a string (e.g. the HTML page of a hibernating instance). */
export function sendAny(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  if (typeof body !== 'string') {
    sendJson(res, status, body, headers);
    return;
  }
  const html = body.trimStart().startsWith('<');
  res.writeHead(status, {
    'content-type': html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'content-length': '0', ...NO_STORE });
  res.end();
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Log-safe path: no query string (it carries codes and challenges), no control characters, bounded. */
export function loggablePath(rawUrl: string | undefined): string {
  const path = (rawUrl ?? '/').split('?')[0] ?? '/';
  // eslint-disable-next-line no-control-regex
  return path.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 200);
}
