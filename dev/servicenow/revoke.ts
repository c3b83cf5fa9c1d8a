/**
 * `oauth_revoke_token.do`: marks an access or refresh token expired. ServiceNow documents it as
 * `oauth_revoke_token.do?token=…` without authentication; the bridge POSTs the form `token=…`
 * (RFC 7009 style). Both work. Revoking a refresh token also ends its access tokens. Unknown
 * tokens get the same 200 `{}` (RFC 7009 §2.2), so the answer never says whether a token existed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Context } from './context.js';
import { NO_STORE, isForm, readBody, sendJson } from './http.js';
import { oauthError } from './oauthErrors.js';

export async function handleRevoke(ctx: Context, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const raw = await readBody(req, 64 * 1024);
  ctx.stats.revocations += 1;
  if (req.method !== 'POST' && req.method !== 'GET') {
    const { status, body } = oauthError(405, 'invalid_request', 'Use POST (or GET with ?token=).');
    sendJson(res, status, body, { ...NO_STORE, allow: 'GET, POST' });
    return;
  }
  const form = req.method === 'POST' && isForm(req) ? new URLSearchParams(raw.toString('utf8')) : undefined;
  const token = form?.get('token') || query.get('token');
  if (!token) {
    const { status, body } = oauthError(400, 'invalid_request', 'token is required.');
    sendJson(res, status, body, NO_STORE);
    return;
  }
  ctx.store.revoke(token);
  ctx.config.log('revoke: a token was revoked (or was unknown)');
  sendJson(res, 200, {}, NO_STORE);
}
