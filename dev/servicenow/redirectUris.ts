/**
 * Which redirect URIs a client may use, and how the answer is put on them.
 *
 * A client with registered URIs must use one of them exactly, except that the port of a
 * loopback URI may vary (RFC 8252 §7.3: native apps get an ephemeral port). A client with none
 * registered may use any loopback http(s) URI or a private-use scheme (RFC 8252 §7.1,
 * `com.example.app:/callback`, `flowquest://auth`), which is what a development instance needs
 * for emulators and test harnesses; ServiceNow itself needs the URL entered in the registry.
 */
import type { DevClient } from './options.js';

/** Schemes a browser would run or read locally instead of handing to an app. */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'filesystem:', 'ws:', 'wss:', 'ftp:']);

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

function isLoopback(url: URL): boolean {
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function isHttp(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

/** Loopback URIs match whatever the port; everything else must match exactly. */
function matchesRegistered(uri: string, url: URL, registered: string): boolean {
  if (uri === registered) return true;
  const reg = parse(registered);
  if (!reg || !isHttp(url) || !isLoopback(url) || !isLoopback(reg)) return false;
  const withoutPort = (u: URL): string => `${u.protocol}//${u.hostname}${u.pathname}${u.search}`;
  return withoutPort(url) === withoutPort(reg) && url.username === '' && url.password === '';
}

export function isAllowedRedirectUri(client: DevClient, uri: string): boolean {
  const url = parse(uri);
  // RFC 6749 §3.1.2: an absolute URI without a fragment.
  if (!url || uri.includes('#')) return false;
  if (client.redirectUris.length > 0) return client.redirectUris.some((registered) => matchesRegistered(uri, url, registered));
  if (url.username || url.password) return false;
  if (isHttp(url)) return isLoopback(url);
  return !FORBIDDEN_SCHEMES.has(url.protocol) && /^[a-z][a-z0-9+.-]*:$/.test(url.protocol);
}

/** Adds the answer to the redirect URI's query, keeping the query it already has (RFC 6749 §4.1.2). */
export function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  return url.toString();
}
