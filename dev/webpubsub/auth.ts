/**
 * Access-key JWT checks for both faces of the emulator.
 *
 * With an access key, Web PubSub uses HS256 JWTs signed with the key:
 *   - REST calls carry `Authorization: Bearer <jwt>` whose `aud` is the request URL
 *     (@azure/web-pubsub 1.2.0, webPubSubCredentialPolicy.js, signs `request.url`, which at
 *     that point already includes `?api-version=...`; other tools sign the URL without the
 *     query, so both forms are accepted);
 *   - clients connect to `/client/hubs/{hub}?access_token=<jwt>` whose `aud` is
 *     `{endpoint}/client/hubs/{hub}` (hubClient.js getClientAccessToken), with claims
 *     `sub` (user id), `role` and `webpubsub.group`.
 * The SDK signs with `jsonwebtoken`, which turns a string secret into key material with
 * `Buffer.from(secret)` (jsonwebtoken/sign.js), i.e. the UTF-8 bytes of the key string, so
 * the same bytes are used here.
 * See https://learn.microsoft.com/azure/azure-web-pubsub/howto-generate-client-access-url
 * and the REST auth notes in https://learn.microsoft.com/rest/api/webpubsub/.
 */
import { webcrypto } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';

export class AuthError extends Error {}

/** What a verified client token grants. */
export interface ClientClaims {
  readonly userId: string | null;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
}

/** The HMAC key, imported once: importing it on every request cost more than verifying the token. */
export type AccessKey = webcrypto.CryptoKey;

export function importAccessKey(accessKey: string): Promise<AccessKey> {
  return webcrypto.subtle.importKey('raw', new TextEncoder().encode(accessKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** `Bearer <token>` → token; anything else → null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Tokens already verified, until they expire. The SDK signs a token per request but with second
 * resolution, so sends to one URL within a second carry the same token; WebCrypto's HMAC verify
 * (a thread-pool job per call) was the emulator's largest cost under load.
 */
const verifiedByKey = new WeakMap<AccessKey, Map<string, JWTPayload>>();
const MAX_VERIFIED = 10_000;

async function verify(token: string | null, key: AccessKey): Promise<JWTPayload> {
  if (!token) throw new AuthError('Missing access token.');
  let verified = verifiedByKey.get(key);
  if (!verified) verifiedByKey.set(key, (verified = new Map()));
  const known = verified.get(token);
  if (known && (known.exp === undefined || known.exp * 1000 > Date.now())) return known;
  try {
    // jose checks `exp` and `nbf` when present; only HS256 (what the key-based SDK
    // emits) is allowed, so `alg: none` or key-confusion tricks are rejected.
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(token, payload);
    return payload;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') throw new AuthError('The access token has expired.');
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw new AuthError(`The access token is not valid yet or has bad claims: ${(error as Error).message}`);
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      throw new AuthError('The access token signature does not match the access key.');
    }
    throw new AuthError('The access token is malformed or uses an unsupported algorithm.');
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Scheme-and-host part used for comparison. http/ws and https/wss are treated alike
 * (client tokens are minted for the http endpoint but used on a ws URL), loopback
 * spellings are treated alike (Node may reach `localhost` over ::1 or 127.0.0.1), and
 * the port must match.
 */
function originKey(url: URL): string {
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const host = LOOPBACK_NAMES.has(url.hostname.toLowerCase()) ? 'loopback' : url.hostname.toLowerCase();
  const port = url.port || (secure ? '443' : '80');
  return `${host}:${port}`;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function audiences(payload: JWTPayload): string[] {
  const aud = payload.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/**
 * REST: `aud` must be the request URL, with or without its query string.
 * `requestUrl` is rebuilt from the Host header and the raw request target.
 */
export async function verifyServiceToken(token: string | null, key: AccessKey, requestUrl: URL): Promise<void> {
  const payload = await verify(token, key);
  const ok = audiences(payload).some((aud) => {
    const parsed = parseUrl(aud);
    if (!parsed || originKey(parsed) !== originKey(requestUrl)) return false;
    if (safeDecode(parsed.pathname) !== safeDecode(requestUrl.pathname)) return false;
    return parsed.search === '' || parsed.search === requestUrl.search;
  });
  if (!ok) throw new AuthError('The access token audience does not match the request URL.');
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * Client connect: `aud` must be `{endpoint}/client/hubs/{hub}` for this hub (path compared
 * exactly, query ignored). Returns the granted user id, roles and initial groups.
 */
export async function verifyClientToken(token: string | null, key: AccessKey, connectUrl: URL): Promise<ClientClaims> {
  const payload = await verify(token, key);
  const ok = audiences(payload).some((aud) => {
    const parsed = parseUrl(aud);
    if (!parsed || originKey(parsed) !== originKey(connectUrl)) return false;
    const trim = (p: string) => safeDecode(p).replace(/\/+$/, '');
    return trim(parsed.pathname) === trim(connectUrl.pathname);
  });
  if (!ok) throw new AuthError('The access token audience does not match this client endpoint and hub.');
  const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : null;
  return {
    userId: sub,
    roles: stringList(payload['role']),
    groups: stringList(payload['webpubsub.group']),
  };
}

/**
 * Mint a client token the way the service's `:generateToken` operation does, so callers
 * using that REST operation get a URL that works against the emulator.
 */
export async function signClientToken(
  key: AccessKey,
  audience: string,
  claims: { userId?: string | null; roles: readonly string[]; groups: readonly string[]; minutesToExpire: number },
): Promise<string> {
  const body: JWTPayload = {};
  if (claims.roles.length > 0) body['role'] = [...claims.roles];
  if (claims.groups.length > 0) body['webpubsub.group'] = [...claims.groups];
  let jwt = new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setAudience(audience)
    .setExpirationTime(`${claims.minutesToExpire}m`);
  if (claims.userId) jwt = jwt.setSubject(claims.userId);
  return jwt.sign(key);
}
