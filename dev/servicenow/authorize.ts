/**
 * `oauth_auth.do`: GET shows the sign-in page (one button per demo user), POST signs the chosen
 * user in and sends the browser back to the client with a single-use code (60 s), or with
 * `error=access_denied` when the user cancels.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { type AuthorizeRequest, checkAuthorizeRequest, errorRedirect } from './authorizeRequest.js';
import type { Context } from './context.js';
import { isForm, readBody, redirect, sendHtml } from './http.js';
import type { DevUser } from './instance.js';
import { authorizeErrorPage, signInPage } from './pages.js';
import { withParams } from './redirectUris.js';
import { sameSecret } from './secrets.js';

function findUser(ctx: Context, value: string | null): DevUser | undefined {
  if (!value) return undefined;
  return ctx.config.usersById.get(value) ?? ctx.config.users.find((u) => u.userName.toLowerCase() === value.toLowerCase());
}

function signIn(ctx: Context, res: ServerResponse, request: AuthorizeRequest, params: URLSearchParams): void {
  if (params.get('action') === 'deny') {
    const denied = errorRedirect(request.redirectUri, request.state, 'access_denied', 'The user cancelled the sign-in.');
    if (denied.kind === 'redirect') redirect(res, denied.location);
    return;
  }
  const user = findUser(ctx, params.get('user'));
  if (!user) {
    sendHtml(res, 400, signInPage(request, ctx.config.users, 'Choose one of the users below.'));
    return;
  }
  if (user.password !== undefined && !sameSecret(params.get('password'), user.password)) {
    sendHtml(res, 401, signInPage(request, ctx.config.users, `Wrong password for ${user.name}.`));
    return;
  }
  const code = ctx.store.createCode({
    clientId: request.client.clientId,
    userSysId: user.sysId,
    redirectUri: request.redirectUri,
    redirectUriGiven: request.redirectUriGiven,
    codeChallenge: request.codeChallenge,
  });
  ctx.config.log(`sign-in: ${user.userName} (${request.client.clientId})`);
  redirect(res, withParams(request.redirectUri, { code, state: request.state }));
}

export async function handleAuthorize(ctx: Context, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const raw = await readBody(req, 64 * 1024);
  let params: URLSearchParams;
  if (req.method === 'GET' || req.method === 'HEAD') {
    params = query;
  } else if (req.method === 'POST') {
    if (!isForm(req)) {
      sendHtml(res, 400, authorizeErrorPage('The sign-in form must be posted as application/x-www-form-urlencoded.'));
      return;
    }
    params = new URLSearchParams(raw.toString('utf8'));
  } else {
    sendHtml(res, 405, authorizeErrorPage('Use GET or POST.'), { allow: 'GET, POST' });
    return;
  }

  const check = checkAuthorizeRequest(ctx.config, params);
  if (check.kind === 'page') {
    sendHtml(res, 400, authorizeErrorPage(check.message));
    return;
  }
  if (check.kind === 'redirect') {
    redirect(res, check.location);
    return;
  }
  if (req.method === 'POST') signIn(ctx, res, check.request, params);
  else sendHtml(res, 200, signInPage(check.request, ctx.config.users));
}
