/**
 * Method + path dispatch, one log line per request (method, path without query, status,
 * duration), and the last-resort error answer.
 *
 *   GET|POST /oauth_auth.do          authorize.ts
 *   POST     /oauth_token.do         token.ts
 *   POST     /oauth_revoke_token.do  revoke.ts
 *   GET      /api/now/table/…        tableApi.ts
 *   POST     /dev/emit, GET /        devRoutes.ts
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { handleAuthorize } from './authorize.js';
import type { Context } from './context.js';
import { handleEmit, handleIndex } from './devRoutes.js';
import { BodyTooLargeError, loggablePath, readBody, sendJson } from './http.js';
import { handleRevoke } from './revoke.js';
import { handleTable } from './tableApi.js';
import { handleToken } from './token.js';

async function route(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Collapse leading slashes first: "//x" would otherwise parse as a host name.
  const url = new URL((req.url ?? '/').replace(/^\/+/, '/'), 'http://instance.invalid');
  const path = url.pathname;
  if (path === '/oauth_auth.do') return handleAuthorize(ctx, req, res, url.searchParams);
  if (path === '/oauth_token.do') return handleToken(ctx, req, res);
  if (path === '/oauth_revoke_token.do') return handleRevoke(ctx, req, res, url.searchParams);
  const api = /^\/api\/now\/((?:v\d+\/)?table\/.*)$/.exec(path);
  if (api?.[1] !== undefined) {
    const segments = api[1].split('/').map((s) => decodeURIComponent(s));
    return handleTable(ctx, req, res, segments, url.searchParams);
  }
  if (path === '/dev/emit') return handleEmit(ctx, req, res);
  if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) return handleIndex(ctx, req, res);
  await readBody(req);
  if (path.startsWith('/api/')) {
    return sendJson(res, 400, { error: { message: 'Requested URI does not represent any resource', detail: null }, status: 'failure' });
  }
  sendJson(res, 404, { message: `Nothing at ${path} on the development instance; see GET /.` });
}

export function createRequestListener(ctx: Context): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.config.log(`${req.method ?? '?'} ${loggablePath(req.url)} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });
    route(ctx, req, res).catch((error: unknown) => {
      if (res.headersSent || ctx.closing.aborted) {
        res.destroy();
        return;
      }
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, { error: { message: error.message, detail: null }, status: 'failure' });
        return;
      }
      if (error instanceof URIError) {
        sendJson(res, 400, { error: { message: 'The request URI is not correctly encoded.', detail: null }, status: 'failure' });
        return;
      }
      ctx.config.log(`internal error: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`);
      sendJson(res, 500, { error: { message: 'The development instance failed to process the request.', detail: null }, status: 'failure' });
    });
  };
}
