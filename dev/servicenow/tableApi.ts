/**
 * The Table API, read-only: `GET /api/now/[v1|v2/]table/{table}[/{sys_id}]` for the tables in
 * tables.ts, with `sysparm_query`, `sysparm_fields`, `sysparm_limit`, `sysparm_offset`,
 * `sysparm_exclude_reference_link` and `sysparm_display_value`, answered as `{ "result": … }`.
 *
 * Authentication: `Authorization: Bearer <access token>` from oauth_token.do, or HTTP Basic for a
 * seed user that has a password. Anything else gets ServiceNow's JSON 401.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { type Context, hangUntilClosed } from './context.js';
import { matches, parseEncodedQuery } from './encodedQuery.js';
import type { Fault } from './instance.js';
import { type Headers, readBody, sendAny, sendJson } from './http.js';
import { sameSecret } from './secrets.js';
import { type FieldValue, type Row, type Table, rawValue } from './tables.js';

/** ServiceNow's answer to a request without valid credentials. */
export const NOT_AUTHENTICATED = {
  error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' },
  status: 'failure',
};

const DEFAULT_LIMIT = 10_000;

function failure(message: string, detail: string | null = null): unknown {
  return { error: { message, detail }, status: 'failure' };
}

function authenticatedUser(ctx: Context, req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? '';
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer?.[1]) return ctx.store.authenticate(bearer[1])?.userSysId;
  const basic = /^basic\s+(\S+)\s*$/i.exec(header);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const name = decoded.slice(0, colon).toLowerCase();
  const user = ctx.config.users.find((u) => u.userName.toLowerCase() === name);
  return user?.password !== undefined && sameSecret(decoded.slice(colon + 1), user.password) ? user.sysId : undefined;
}

type DisplayMode = 'false' | 'true' | 'all';

interface RenderOptions {
  fields: readonly string[];
  excludeReferenceLink: boolean;
  display: DisplayMode;
  baseUrl: string;
}

function renderValue(value: FieldValue, options: RenderOptions): unknown {
  if (typeof value === 'string') return options.display === 'all' ? { display_value: value, value } : value;
  const link = `${options.baseUrl}/api/now/table/${value.table}/${value.value}`;
  switch (options.display) {
    case 'true':
      return options.excludeReferenceLink ? value.display : { display_value: value.display, link };
    case 'all':
      return options.excludeReferenceLink
        ? { display_value: value.display, value: value.value }
        : { display_value: value.display, link, value: value.value };
    default:
      return options.excludeReferenceLink ? value.value : { link, value: value.value };
  }
}

function render(row: Row, table: Table, options: RenderOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Unknown names in sysparm_fields are left out, as ServiceNow does.
  for (const field of options.fields.length > 0 ? options.fields : table.fields) {
    const value = row[field];
    if (value !== undefined) out[field] = renderValue(value, options);
  }
  return out;
}

function nonNegativeInteger(text: string | null, fallback: number): number | undefined {
  if (text === null || text === '') return fallback;
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function answerFault(ctx: Context, res: ServerResponse, fault: Fault): Promise<void> | void {
  if ('hang' in fault) return hangUntilClosed(ctx.closing);
  if ('invalidGrant' in fault) return sendJson(res, 401, NOT_AUTHENTICATED);
  const headers: Headers = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
  const body =
    fault.body ??
    (fault.status === 429
      ? failure('Rate limit exceeded', 'Too many requests (injected by the development instance).')
      : failure(`HTTP ${fault.status}`, 'Injected by the development instance.'));
  sendAny(res, fault.status, body, headers);
}

/** `segments` follow `/api/now/`: `['table', name, id?]` or `['v2', 'table', name, id?]`. */
export async function handleTable(ctx: Context, req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams): Promise<void> {
  await readBody(req);
  ctx.stats.tableRequests += 1;
  const fault = ctx.faults.take('table');
  if (fault) return answerFault(ctx, res, fault);

  const userSysId = authenticatedUser(ctx, req);
  if (!userSysId) return sendJson(res, 401, NOT_AUTHENTICATED);
  if (req.method !== 'GET') {
    return sendJson(res, 405, failure('Method not Supported', 'The development instance serves the Table API read-only.'), { allow: 'GET' });
  }

  const [tableName = '', sysId, ...rest] = /^v\d+$/.test(segments[0] ?? '') ? segments.slice(2) : segments.slice(1);
  const table = ctx.tables.get(tableName);
  if (!table || rest.length > 0) return sendJson(res, 400, failure(`Invalid table ${tableName}`));

  const display = (query.get('sysparm_display_value') ?? 'false').toLowerCase();
  const options: RenderOptions = {
    fields: (query.get('sysparm_fields') ?? '').split(',').map((f) => f.trim()).filter(Boolean),
    excludeReferenceLink: query.get('sysparm_exclude_reference_link') === 'true',
    display: display === 'true' || display === 'all' ? display : 'false',
    baseUrl: ctx.baseUrl(req),
  };

  if (sysId !== undefined) {
    const row = table.rows.find((r) => r.sys_id === sysId && table.visible(r, userSysId));
    if (!row) return sendJson(res, 404, failure('No Record found', "Record doesn't exist or ACL restricts the record retrieval"));
    return sendJson(res, 200, { result: render(row, table, options) });
  }

  const parsed = parseEncodedQuery(query.get('sysparm_query') ?? '', userSysId);
  if (!parsed.ok) return sendJson(res, 400, failure(parsed.message));
  for (const { field } of parsed.conditions) {
    if (!table.fields.includes(field)) return sendJson(res, 400, failure(`Unknown field ${table.name}.${field} in sysparm_query`));
  }
  const limit = nonNegativeInteger(query.get('sysparm_limit'), DEFAULT_LIMIT);
  const offset = nonNegativeInteger(query.get('sysparm_offset'), 0);
  if (limit === undefined || limit === 0 || offset === undefined) {
    return sendJson(res, 400, failure('sysparm_limit must be a positive integer and sysparm_offset a non-negative one'));
  }
  const found = table.rows.filter((row) => table.visible(row, userSysId) && matches(parsed.conditions, (f) => rawValue(row[f])));
  const page = found.slice(offset, offset + limit).map((row) => render(row, table, options));
  return sendJson(res, 200, { result: page }, { 'x-total-count': String(found.length) });
}
