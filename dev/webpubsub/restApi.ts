/**
 * The REST data plane under `/api/hubs/{hub}/...`.
 *
 * Paths, methods and success codes mirror the 2024-12-01 REST spec
 * (azure-rest-api-specs specification/webpubsub/data-plane, routes.tsp) and what
 * @azure/web-pubsub 1.2.0 sends (dist/esm/generated/operations/webPubSub.js):
 *   send (all/user/group/connection)            POST ...:send                 202
 *   close connections (all/user/group), close   POST ...:closeConnections / DELETE connections/{id}   204
 *   add user/connection to group                PUT                            200
 *   remove user/connection from group(s)        DELETE                         204
 *   exists (user/group/connection/permission)   HEAD                           200 | 404
 *   add/remove filtered connections to groups   POST :addToGroups / :removeFromGroups   200
 *   grant / revoke permission                   PUT 200 / DELETE 204
 *   list connections in group                   GET                            200
 *   generate client token                       POST :generateToken            200
 * Errors use the spec's ErrorDetail body `{ code, message }`. Any `api-version` (or none)
 * is accepted. Deliberate gaps, documented in README.md: `messageTtlSeconds` is ignored
 * (messages are delivered at once); `filter` supports the documented OData subset.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthError, bearerToken, signClientToken, verifyServiceToken, type AccessKey } from './auth.js';
import type { ClientConnection } from './connection.js';
import { isValidGroupName, isValidHubName, type Hub, type HubRegistry, type Log } from './hubState.js';
import { PayloadError, payloadFromRest, type MessageOrigin } from './messages.js';
import { compileFilter, FilterError, type FilterPredicate } from './odataFilter.js';
import { grant, hasPermission, isPermission, revoke } from './permissions.js';

/** Same 1 MB message limit as the service. */
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_CLOSE_REASON = 'Connection closed by the server.';

export interface RestApiOptions {
  readonly registry: HubRegistry;
  readonly key: AccessKey;
  readonly log: Log;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface RouteContext {
  readonly hub: Hub;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly url: URL;
  readonly request: IncomingMessage;
  readonly body: Buffer;
  /** The access key, needed only to sign tokens for :generateToken. */
  readonly key: AccessKey;
}

interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
}

interface Route {
  readonly method: string;
  /** Segments after `/api/hubs/{hub}/`; `{name}` captures one (decoded) segment. */
  readonly pattern: readonly string[];
  readonly handle: (context: RouteContext) => RouteResult | Promise<RouteResult>;
}

const ACCEPTED: RouteResult = { status: 202 };
const OK: RouteResult = { status: 200 };
const NO_CONTENT: RouteResult = { status: 204 };
const NOT_FOUND: RouteResult = { status: 404 };

function group(context: RouteContext): string {
  const name = context.params['group'] as string;
  if (!isValidGroupName(name)) throw new HttpError(400, 'BadRequest', 'The group name must be 1-1024 characters and not only whitespace.');
  return name;
}

function filterOf(context: RouteContext): FilterPredicate | null {
  const text = context.query.get('filter');
  if (text === null) return null;
  try {
    return compileFilter(text);
  } catch (error) {
    if (error instanceof FilterError) throw new HttpError(400, 'BadRequest', `Invalid filter: ${error.message}`);
    throw error;
  }
}

/** Apply `excluded` (repeatable query parameter) and `filter` to candidate connections. */
function selectTargets(context: RouteContext, candidates: ClientConnection[], options: { excluded: boolean }): ClientConnection[] {
  const excluded = options.excluded ? new Set(context.query.getAll('excluded')) : new Set<string>();
  const filter = filterOf(context);
  return candidates.filter((c) => !excluded.has(c.connectionId) && (!filter || filter(c)));
}

/**
 * Sends to a group arrive as group messages (`from: "group"`, no `fromUserId`); all other
 * REST sends arrive as server messages (subprotocol reference, "Message response").
 */
function send(
  context: RouteContext,
  candidates: ClientConnection[],
  options: { excluded: boolean; origin?: MessageOrigin },
): RouteResult {
  let payload;
  try {
    payload = payloadFromRest(context.request.headers['content-type'], context.body);
  } catch (error) {
    if (error instanceof PayloadError) throw new HttpError(400, 'BadRequest', error.message);
    throw error;
  }
  const targets = selectTargets(context, candidates, options);
  context.hub.send(targets, options.origin ?? { from: 'server' }, payload);
  return ACCEPTED;
}

function closeAll(context: RouteContext, candidates: ClientConnection[]): RouteResult {
  const excluded = new Set(context.query.getAll('excluded'));
  const reason = context.query.get('reason') || DEFAULT_CLOSE_REASON;
  for (const connection of candidates) {
    if (!excluded.has(connection.connectionId)) context.hub.close(connection, reason);
  }
  return NO_CONTENT;
}

function jsonBody(context: RouteContext): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(context.body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'BadRequest', 'The request body must be a JSON object.');
}

/** Body of :addToGroups / :removeFromGroups: `{ groups: string[], filter?: string }`. */
function groupsRequest(context: RouteContext): { groups: string[]; targets: ClientConnection[] } {
  const body = jsonBody(context);
  const groups = body['groups'];
  if (!Array.isArray(groups) || groups.length === 0 || !groups.every((g) => typeof g === 'string' && isValidGroupName(g))) {
    throw new HttpError(400, 'BadRequest', "'groups' must be a non-empty array of group names.");
  }
  let filter: FilterPredicate | null = null;
  if (body['filter'] !== undefined && body['filter'] !== null) {
    if (typeof body['filter'] !== 'string') throw new HttpError(400, 'BadRequest', "'filter' must be a string.");
    try {
      filter = compileFilter(body['filter']);
    } catch (error) {
      if (error instanceof FilterError) throw new HttpError(400, 'BadRequest', `Invalid filter: ${error.message}`);
      throw error;
    }
  }
  const targets = context.hub.all().filter((c) => !filter || filter(c));
  return { groups: groups as string[], targets };
}

function connectionOr404(context: RouteContext): ClientConnection {
  const connection = context.hub.connection(context.params['connectionId'] as string);
  if (!connection) throw new HttpError(404, 'NotFound', `Connection '${context.params['connectionId']}' does not exist.`);
  return connection;
}

function permissionParams(context: RouteContext) {
  const permission = context.params['permission'] as string;
  if (!isPermission(permission)) {
    throw new HttpError(400, 'BadRequest', "The permission must be 'joinLeaveGroup' or 'sendToGroup'.");
  }
  const target = context.query.get('targetName') ?? undefined;
  return { permission, target: target === '' ? undefined : target };
}

function positiveInt(context: RouteContext, name: string): number | undefined {
  const text = context.query.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new HttpError(400, 'BadRequest', `'${name}' must be a positive integer.`);
  return value;
}

const ROUTES: readonly Route[] = [
  // Hub-wide
  { method: 'POST', pattern: [':send'], handle: (c) => send(c, c.hub.all(), { excluded: true }) },
  { method: 'POST', pattern: [':closeConnections'], handle: (c) => closeAll(c, c.hub.all()) },
  {
    method: 'POST',
    pattern: [':addToGroups'],
    handle: (c) => {
      const { groups, targets } = groupsRequest(c);
      for (const connection of targets) for (const g of groups) c.hub.join(connection, g);
      return OK;
    },
  },
  {
    method: 'POST',
    pattern: [':removeFromGroups'],
    handle: (c) => {
      const { groups, targets } = groupsRequest(c);
      for (const connection of targets) for (const g of groups) c.hub.leave(connection, g);
      return OK;
    },
  },
  {
    method: 'POST',
    pattern: [':generateToken'],
    handle: async (c) => {
      const clientType = (c.query.get('clientType') ?? 'Default').toLowerCase();
      if (clientType !== 'default') {
        throw new HttpError(400, 'BadRequest', `clientType '${clientType}' is not supported by the emulator (only Default).`);
      }
      const minutesToExpire = positiveInt(c, 'minutesToExpire') ?? 60;
      const audience = `http://${c.url.host}/client/hubs/${c.hub.name}`;
      const token = await signClientToken(
        c.key,
        audience,
        { userId: c.query.get('userId'), roles: c.query.getAll('role'), groups: c.query.getAll('group'), minutesToExpire },
      );
      return { status: 200, body: { token } };
    },
  },
  // Users
  { method: 'POST', pattern: ['users', '{userId}', ':send'], handle: (c) => send(c, c.hub.connectionsOfUser(c.params['userId'] as string), { excluded: false }) },
  {
    method: 'POST',
    pattern: ['users', '{userId}', ':closeConnections'],
    handle: (c) => closeAll(c, c.hub.connectionsOfUser(c.params['userId'] as string)),
  },
  { method: 'HEAD', pattern: ['users', '{userId}'], handle: (c) => (c.hub.userExists(c.params['userId'] as string) ? OK : NOT_FOUND) },
  {
    method: 'DELETE',
    pattern: ['users', '{userId}', 'groups'],
    handle: (c) => {
      c.hub.removeUserFromAllGroups(c.params['userId'] as string);
      return NO_CONTENT;
    },
  },
  {
    method: 'PUT',
    pattern: ['users', '{userId}', 'groups', '{group}'],
    handle: (c) => {
      c.hub.addUserToGroup(c.params['userId'] as string, group(c));
      return OK;
    },
  },
  {
    method: 'DELETE',
    pattern: ['users', '{userId}', 'groups', '{group}'],
    handle: (c) => {
      c.hub.removeUserFromGroup(c.params['userId'] as string, group(c));
      return NO_CONTENT;
    },
  },
  // Groups
  {
    method: 'POST',
    pattern: ['groups', '{group}', ':send'],
    handle: (c) => send(c, c.hub.membersOf(group(c)), { excluded: true, origin: { from: 'group', group: group(c) } }),
  },
  { method: 'POST', pattern: ['groups', '{group}', ':closeConnections'], handle: (c) => closeAll(c, c.hub.membersOf(group(c))) },
  { method: 'HEAD', pattern: ['groups', '{group}'], handle: (c) => (c.hub.groupExists(group(c)) ? OK : NOT_FOUND) },
  {
    method: 'GET',
    pattern: ['groups', '{group}', 'connections'],
    handle: (c) => {
      // Paging: continuationToken is simply the offset into the member list.
      const members = c.hub.membersOf(group(c));
      const top = positiveInt(c, 'top') ?? members.length;
      const pageSize = positiveInt(c, 'maxpagesize') ?? 200;
      const offset = Number(c.query.get('continuationToken') ?? '0') || 0;
      const limit = Math.min(top, members.length);
      const end = Math.min(offset + pageSize, limit);
      const value = members.slice(offset, end).map((m) => ({ connectionId: m.connectionId, userId: m.userId ?? undefined }));
      let nextLink: string | undefined;
      if (end < limit) {
        const next = new URL(c.url.href);
        next.searchParams.set('continuationToken', String(end));
        nextLink = next.href;
      }
      return { status: 200, body: nextLink ? { value, nextLink } : { value } };
    },
  },
  {
    method: 'PUT',
    pattern: ['groups', '{group}', 'connections', '{connectionId}'],
    handle: (c) => {
      c.hub.join(connectionOr404(c), group(c));
      return OK;
    },
  },
  {
    method: 'DELETE',
    pattern: ['groups', '{group}', 'connections', '{connectionId}'],
    handle: (c) => {
      const connection = c.hub.connection(c.params['connectionId'] as string);
      if (connection) c.hub.leave(connection, group(c));
      return NO_CONTENT;
    },
  },
  // Connections
  {
    method: 'POST',
    pattern: ['connections', '{connectionId}', ':send'],
    handle: (c) => {
      const connection = c.hub.connection(c.params['connectionId'] as string);
      return send(c, connection ? [connection] : [], { excluded: false });
    },
  },
  { method: 'HEAD', pattern: ['connections', '{connectionId}'], handle: (c) => (c.hub.connection(c.params['connectionId'] as string) ? OK : NOT_FOUND) },
  {
    method: 'DELETE',
    pattern: ['connections', '{connectionId}'],
    handle: (c) => {
      const connection = c.hub.connection(c.params['connectionId'] as string);
      if (connection) c.hub.close(connection, c.query.get('reason') || DEFAULT_CLOSE_REASON);
      return NO_CONTENT;
    },
  },
  {
    method: 'DELETE',
    pattern: ['connections', '{connectionId}', 'groups'],
    handle: (c) => {
      const connection = c.hub.connection(c.params['connectionId'] as string);
      if (connection) for (const g of [...connection.groups]) c.hub.leave(connection, g);
      return NO_CONTENT;
    },
  },
  // Permissions
  {
    method: 'PUT',
    pattern: ['permissions', '{permission}', 'connections', '{connectionId}'],
    handle: (c) => {
      const { permission, target } = permissionParams(c);
      grant(connectionOr404(c).roles, permission, target);
      return OK;
    },
  },
  {
    method: 'DELETE',
    pattern: ['permissions', '{permission}', 'connections', '{connectionId}'],
    handle: (c) => {
      const { permission, target } = permissionParams(c);
      const connection = c.hub.connection(c.params['connectionId'] as string);
      if (connection) revoke(connection.roles, permission, target);
      return NO_CONTENT;
    },
  },
  {
    method: 'HEAD',
    pattern: ['permissions', '{permission}', 'connections', '{connectionId}'],
    handle: (c) => {
      const { permission, target } = permissionParams(c);
      const connection = c.hub.connection(c.params['connectionId'] as string);
      return connection && hasPermission(connection.roles, permission, target) ? OK : NOT_FOUND;
    },
  },
];

function matchRoute(segments: string[]): { routes: Route[]; params: Record<string, string> } | null {
  const found: Route[] = [];
  let params: Record<string, string> = {};
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const captured: Record<string, string> = {};
    const ok = route.pattern.every((part, i) => {
      const segment = segments[i] as string;
      if (part.startsWith('{')) {
        if (segment.length === 0) return false;
        captured[part.slice(1, -1)] = segment;
        return true;
      }
      return part === segment;
    });
    if (ok) {
      found.push(route);
      params = captured;
    }
  }
  return found.length > 0 ? { routes: found, params } : null;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'PayloadTooLarge', 'The message is larger than 1 MB.'));
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function respond(request: IncomingMessage, response: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  if (body === undefined || request.method === 'HEAD') {
    response.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

function respondError(request: IncomingMessage, response: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  respond(request, response, error.status, { code: error.code, message: error.message }, { 'x-ms-error-code': error.code, ...headers });
}

/** The `(req, res)` handler for every non-upgrade HTTP request. */
export function createRestHandler(options: RestApiOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { registry, key, log } = options;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
    const method = request.method ?? 'GET';

    // Health probe (HealthApi_GetServiceStatus); no auth, like the service.
    if (url.pathname === '/api/health' && (method === 'HEAD' || method === 'GET')) {
      respond(request, response, 200);
      return 200;
    }

    // Split before decoding so an encoded '/' inside a user id stays part of the id.
    const raw = url.pathname.split('/').slice(1);
    if (raw[0] !== 'api' || raw[1] !== 'hubs' || raw.length < 4) {
      throw new HttpError(404, 'NotFound', `No route for ${method} ${url.pathname}.`);
    }
    let segments: string[];
    try {
      segments = raw.map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, 'BadRequest', 'The URL path is not valid percent-encoding.');
    }
    const [, , hubName, ...rest] = segments as [string, string, string, ...string[]];
    const matched = matchRoute(rest);
    if (!matched) throw new HttpError(404, 'NotFound', `No route for ${method} ${url.pathname}.`);
    const route = matched.routes.find((r) => r.method === method);
    if (!route) {
      const allow = matched.routes.map((r) => r.method).join(', ');
      respondError(request, response, new HttpError(405, 'MethodNotAllowed', `${method} is not allowed here; use ${allow}.`), { Allow: allow });
      return 405;
    }

    try {
      await verifyServiceToken(bearerToken(request.headers.authorization), key, url);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      respondError(request, response, new HttpError(401, 'Unauthorized', error.message), { 'WWW-Authenticate': 'Bearer' });
      return 401;
    }
    if (!isValidHubName(hubName)) {
      throw new HttpError(400, 'BadRequest', 'Invalid hub name: it must start with a letter and contain only letters, digits, underscore and `,.[] (max 128).');
    }

    const body = await readBody(request);
    const result = await route.handle({
      hub: registry.get(hubName),
      params: matched.params,
      query: url.searchParams,
      url,
      request,
      body,
      key,
    });
    respond(request, response, result.status, result.body);
    return result.status;
  }

  return (request, response) => {
    const started = Date.now();
    // Log the path only: query strings may carry tokens.
    const path = (request.url ?? '/').split('?')[0];
    handle(request, response)
      .catch((error: unknown) => {
        const httpError =
          error instanceof HttpError ? error : new HttpError(500, 'InternalServerError', `Emulator error: ${(error as Error).message}`);
        respondError(request, response, httpError);
        return httpError.status;
      })
      .then((status) => log(`[rest] ${request.method} ${path} -> ${status} (${Date.now() - started} ms)`))
      .catch(() => undefined);
  };
}
