/**
 * The secrets data-plane routes, dispatched on method + path:
 *
 *   GET    /secrets                              list (latest version of each, no values)
 *   PUT    /secrets/{name}                       set: new version
 *   GET    /secrets/{name}[/{version}]           get (latest when no / empty version)
 *   PATCH  /secrets/{name}/{version}             update properties
 *   DELETE /secrets/{name}                       soft delete
 *   GET    /secrets/{name}/versions              list versions (no values)
 *   GET    /deletedsecrets                       list deleted
 *   GET    /deletedsecrets/{name}                get deleted
 *   DELETE /deletedsecrets/{name}                purge (204; 403 under purge protection)
 *   POST   /deletedsecrets/{name}/recover        recover
 *
 * Every request needs a bearer token (see auth.ts) and an `api-version` query
 * parameter (any value is accepted). State changes are persisted before the
 * response is sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { hasBearerToken, sendChallenge } from './auth.js';
import {
  deletedSecretBundle,
  deletedSecretListItem,
  secretBundle,
  secretListItem,
  secretVersionListItem,
} from './bundles.js';
import { KeyVaultError, badParameter } from './errors.js';
import { readBody, sendError, sendJson, sendNoContent } from './http.js';
import { type PageRequest, buildNextLink, parsePageRequest, takePage } from './paging.js';
import type { SecretStore } from './store.js';
import { assertSecretName, parseJsonBody, parseSetSecretBody, parseUpdateSecretBody } from './validation.js';

export interface RouteContext {
  store: SecretStore;
  /** Persists the current state; resolves when it is durable. */
  persist: () => Promise<void>;
  /** Used for ids and nextLinks when the request has no usable Host header. */
  fallbackVaultUrl: () => string;
  log?: (line: string) => void;
}

interface Call {
  method: string;
  segments: string[];
  query: URLSearchParams;
  apiVersion: string;
  vaultUrl: string;
  body: Buffer | undefined;
}

const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function vaultUrlOf(req: IncomingMessage, ctx: RouteContext): string {
  const host = req.headers.host;
  // The service answers with its own DNS name; the emulator echoes the host the client used.
  return host && HOST_HEADER.test(host) ? `http://${host.toLowerCase()}` : ctx.fallbackVaultUrl();
}

function splitPath(pathname: string): string[] {
  const segments = pathname.split('/').slice(1);
  try {
    return segments.map((s) => decodeURIComponent(s));
  } catch {
    throw badParameter('The request URI is not correctly encoded.');
  }
}

/** Log-safe path: no query string, no control characters, bounded length. */
function loggablePath(rawUrl: string | undefined): string {
  const path = (rawUrl ?? '/').split('?')[0] ?? '/';
  // eslint-disable-next-line no-control-regex
  return path.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 200);
}

function methodNotAllowed(method: string): KeyVaultError {
  return new KeyVaultError(405, 'MethodNotAllowed', `The method ${method} is not supported on this resource.`);
}

function notImplemented(what: string): KeyVaultError {
  return new KeyVaultError(501, 'NotImplemented', `${what} is not implemented by the local Key Vault emulator.`);
}

function listBody<T>(
  call: Call,
  path: string,
  page: PageRequest,
  result: { items: T[]; skipToken?: string },
): { value: T[]; nextLink: string | null } {
  return {
    value: result.items,
    nextLink: result.skipToken ? buildNextLink(call.vaultUrl, path, call.apiVersion, page, result.skipToken) : null,
  };
}

async function mutate<T>(ctx: RouteContext, change: () => T): Promise<T> {
  const result = change();
  await ctx.persist();
  return result;
}

/** GET of a collection (secrets or deleted secrets): one page, sorted by name, with `nextLink`. */
function sendList<T extends { name: string }>(call: Call, res: ServerResponse, path: string, all: T[], toItem: (s: T) => unknown): void {
  if (call.method !== 'GET') throw methodNotAllowed(call.method);
  const page = parsePageRequest(call.query);
  const result = takePage(all, page, (s) => s.name.toLowerCase(), 'sorted');
  sendJson(res, 200, listBody(call, path, page, { ...result, items: result.items.map(toItem) }));
}

async function secretsRoute(ctx: RouteContext, call: Call, res: ServerResponse): Promise<void> {
  const { store } = ctx;
  const level = store.recoveryLevel;
  const [, name, sub, ...rest] = call.segments;
  const { method } = call;

  if (name === undefined || (name === '' && sub === undefined)) {
    sendList(call, res, '/secrets', store.listSecrets(), (s) => secretListItem(call.vaultUrl, s, level));
    return;
  }
  if (rest.length > 0) throw new KeyVaultError(404, 'NotFound', 'The requested resource does not exist.');

  if (sub === undefined) {
    if (method === 'POST' && name.toLowerCase() === 'restore') throw notImplemented('Restoring a secret backup');
    assertSecretName(name);
    switch (method) {
      case 'PUT': {
        const input = parseSetSecretBody(parseJsonBody(call.body));
        const { secret, version } = await mutate(ctx, () => store.set(name, input));
        sendJson(res, 200, secretBundle(call.vaultUrl, secret, version, level, true));
        return;
      }
      case 'GET': {
        const { secret, version } = store.get(name);
        sendJson(res, 200, secretBundle(call.vaultUrl, secret, version, level, true));
        return;
      }
      case 'DELETE': {
        const deleted = await mutate(ctx, () => store.delete(name));
        sendJson(res, 200, deletedSecretBundle(call.vaultUrl, deleted, level));
        return;
      }
      default:
        throw methodNotAllowed(method);
    }
  }

  assertSecretName(name);
  const subLower = sub.toLowerCase();
  if (method === 'GET' && subLower === 'versions') {
    const page = parsePageRequest(call.query);
    const { secret, versions } = store.listVersions(name);
    const result = takePage(versions, page, (v) => v.version, 'insertion');
    const items = secret ? result.items.map((v) => secretVersionListItem(call.vaultUrl, secret, v, level)) : [];
    sendJson(res, 200, listBody(call, `/secrets/${secret?.name ?? name}/versions`, page, { ...result, items }));
    return;
  }
  if (method === 'POST' && subLower === 'backup') throw notImplemented('Backing up a secret');
  switch (method) {
    case 'GET': {
      const { secret, version } = store.get(name, sub);
      sendJson(res, 200, secretBundle(call.vaultUrl, secret, version, level, true));
      return;
    }
    case 'PATCH': {
      const input = parseUpdateSecretBody(parseJsonBody(call.body));
      const { secret, version } = await mutate(ctx, () => store.update(name, sub, input));
      sendJson(res, 200, secretBundle(call.vaultUrl, secret, version, level, false));
      return;
    }
    default:
      throw methodNotAllowed(method);
  }
}

async function deletedSecretsRoute(ctx: RouteContext, call: Call, res: ServerResponse): Promise<void> {
  const { store } = ctx;
  const level = store.recoveryLevel;
  const [, name, sub, ...rest] = call.segments;
  const { method } = call;

  if (name === undefined || (name === '' && sub === undefined)) {
    sendList(call, res, '/deletedsecrets', store.listDeleted(), (s) => deletedSecretListItem(call.vaultUrl, s, level));
    return;
  }
  if (rest.length > 0) throw new KeyVaultError(404, 'NotFound', 'The requested resource does not exist.');
  assertSecretName(name);

  if (sub === undefined) {
    switch (method) {
      case 'GET':
        sendJson(res, 200, deletedSecretBundle(call.vaultUrl, store.getDeleted(name), level));
        return;
      case 'DELETE':
        await mutate(ctx, () => store.purge(name));
        sendNoContent(res);
        return;
      default:
        throw methodNotAllowed(method);
    }
  }
  if (sub.toLowerCase() === 'recover') {
    if (method !== 'POST') throw methodNotAllowed(method);
    const secret = await mutate(ctx, () => store.recover(name));
    const latest = secret.versions[secret.versions.length - 1];
    if (!latest) throw new Error('recovered secret has no versions');
    sendJson(res, 200, secretBundle(call.vaultUrl, secret, latest, level, false));
    return;
  }
  throw new KeyVaultError(404, 'NotFound', 'The requested resource does not exist.');
}

async function handle(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hasBearerToken(req)) {
    // The SDK's first attempt carries no body; drain whatever a raw client sent.
    req.resume();
    sendChallenge(res);
    return;
  }
  const body = await readBody(req);
  // Collapse leading slashes first: "//secrets" would otherwise parse as a host name.
  const url = new URL((req.url ?? '/').replace(/^\/+/, '/'), 'http://emulator.invalid');
  const apiVersion = url.searchParams.get('api-version');
  if (!apiVersion) throw badParameter('The api-version query parameter is required.');

  if (ctx.store.purgeExpired()) await ctx.persist();

  const call: Call = {
    method: (req.method ?? 'GET').toUpperCase(),
    segments: splitPath(url.pathname),
    query: url.searchParams,
    apiVersion,
    vaultUrl: vaultUrlOf(req, ctx),
    body,
  };
  switch (call.segments[0]?.toLowerCase()) {
    case 'secrets':
      return secretsRoute(ctx, call, res);
    case 'deletedsecrets':
      return deletedSecretsRoute(ctx, call, res);
    default:
      throw new KeyVaultError(
        404,
        'NotFound',
        'The local Key Vault emulator serves only the secrets data plane (/secrets, /deletedsecrets).',
      );
  }
}

/** The node:http request listener. Logs one line per request: method, path, status, duration. */
export function createRequestListener(ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    if (ctx.log) {
      const log = ctx.log;
      res.once('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        log(`${req.method ?? '?'} ${loggablePath(req.url)} ${res.statusCode} ${ms.toFixed(1)}ms`);
      });
    }
    handle(ctx, req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof KeyVaultError) {
        sendError(res, error);
        return;
      }
      ctx.log?.(`internal error: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`);
      sendError(res, new KeyVaultError(500, 'InternalServerError', 'The Key Vault emulator failed to process the request.'));
    });
  };
}
