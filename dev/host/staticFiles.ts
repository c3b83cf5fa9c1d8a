/**
 * Static files for local development pages (the live console), served before function routing. Not a
 * feature of the real Functions host: Azure serves such pages from Static Web Apps or a storage account.
 *
 * - `staticRoutes` maps a URL prefix that starts and ends with `/` (`'/console/'`) to a directory.
 * - Only GET and HEAD under a prefix are answered here; other methods go on to function routing.
 * - `/console` (no slash) → 301 to `/console/`; a path ending in `/` → that folder's index.html; any other
 *   folder → 301 to the same path with a slash, so relative URLs in its page resolve inside it.
 * - Segments are percent-decoded one by one. `.`/`..`, an encoded `/` or `\`, NUL and hidden names
 *   (`.git`, `.env`) are refused with 404; the resolved real path (symbolic links followed) must stay in
 *   the directory, so nothing outside it can be read.
 * - Answers carry `Cache-Control: no-store` (a rebuilt bundle is picked up on reload) and `nosniff`.
 *   Unknown paths are 404 with an empty body, as the host answers for unknown routes.
 */
import { realpathSync, statSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** By extension; what is not listed is served as bytes, never sniffed (nosniff). */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

interface Mount {
  prefix: string;
  /** Real path of the directory, without a trailing separator. */
  root: string;
}

/**
 * Checks the routes once (prefixes well formed, directories present) and returns the request handler:
 * `true` when the request is a static one (the answer is then under way), `false` to route it on.
 */
export function createStaticFiles(
  routes: Readonly<Record<string, string>>,
  track: <T>(work: Promise<T>) => Promise<T>,
  onError: (message: string) => void,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const mounts: Mount[] = Object.entries(routes).map(([prefix, directory]) => {
    if (!/^\/(?:[^/?#\\]+\/)*$/.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
      throw new Error(`staticRoutes: the prefix '${prefix}' must start and end with '/' (like '/console/').`);
    }
    const dir = resolve(directory);
    let stat;
    try {
      stat = statSync(dir);
    } catch {
      throw new Error(`staticRoutes: '${prefix}' points at ${dir}, which does not exist.`);
    }
    if (!stat.isDirectory()) throw new Error(`staticRoutes: '${prefix}' points at ${dir}, which is not a directory.`);
    return { prefix, root: realpathSync(dir) };
  });
  // The longest prefix wins, so '/console/docs/' can be mounted apart from '/console/'.
  mounts.sort((a, b) => b.prefix.length - a.prefix.length);

  return (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return false;
    // The path as sent, not normalised by URL parsing: '..' is refused below rather than resolved.
    const target = req.url ?? '/';
    if (!target.startsWith('/')) return false;
    const at = target.indexOf('?');
    const pathname = at === -1 ? target : target.slice(0, at);
    const query = at === -1 ? '' : target.slice(at);
    const mount = mounts.find((m) => pathname.startsWith(m.prefix) || pathname === m.prefix.slice(0, -1));
    if (!mount) return false;
    req.resume(); // a GET body is ignored, never left unread
    if (pathname.length < mount.prefix.length) {
      redirect(res, mount.prefix + query);
      return true;
    }
    void track(
      serve(res, mount, pathname, method === 'HEAD', query).catch((err: unknown) => {
        onError(`Static file ${pathname} failed: ${(err as Error)?.message ?? String(err)}`);
        if (res.headersSent) res.destroy();
        else sendEmpty(res, 500);
      }),
    );
    return true;
  };
}

/** The decoded segments below the prefix, or undefined when one of them is not a plain file name. */
export function safeSegments(rest: string): string[] | undefined {
  const segments = rest.split('/');
  const decoded: string[] = [];
  for (const [i, raw] of segments.entries()) {
    if (raw === '') {
      if (i === segments.length - 1) break; // trailing slash: a folder
      return undefined; // '//' inside the path
    }
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (name.startsWith('.') || /[/\\\0]/.test(name) || isAbsolute(name)) return undefined;
    decoded.push(name);
  }
  return decoded;
}

async function serve(res: ServerResponse, mount: Mount, pathname: string, head: boolean, query: string): Promise<void> {
  const segments = safeSegments(pathname.slice(mount.prefix.length));
  if (!segments) return sendEmpty(res, 404);
  const wantsFolder = pathname.endsWith('/');
  const target = join(mount.root, ...segments, ...(wantsFolder ? ['index.html'] : []));

  let real: string;
  try {
    real = await realpath(target);
  } catch {
    return sendEmpty(res, 404);
  }
  if (!real.startsWith(mount.root.endsWith(sep) ? mount.root : mount.root + sep)) return sendEmpty(res, 404); // a link out

  let file;
  try {
    file = await open(real, 'r');
  } catch {
    return sendEmpty(res, 404); // removed since (a rebuild in progress)
  }
  try {
    const stat = await file.stat();
    if (stat.isDirectory()) return redirect(res, `${pathname}/${query}`);
    if (!stat.isFile()) return sendEmpty(res, 404);
    res.writeHead(200, {
      'content-type': contentTypeOf(real),
      'content-length': String(stat.size),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'last-modified': stat.mtime.toUTCString(),
    });
    if (head || stat.size === 0) {
      res.end();
      return;
    }
    // The size was read from the open handle: a file replaced meanwhile (a rebuild renames over it) is
    // still the one measured.
    await pipeline(file.createReadStream({ start: 0, end: stat.size - 1, autoClose: false }), res);
  } finally {
    await file.close();
  }
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(301, { location, 'content-length': '0', 'cache-control': 'no-store' });
  res.end();
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': '0', 'cache-control': 'no-store' });
  res.end();
}
