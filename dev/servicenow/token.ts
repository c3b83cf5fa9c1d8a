/**
 * `POST /oauth_token.do`: authorization_code (with PKCE), refresh_token and client_credentials.
 *
 * Only `application/x-www-form-urlencoded` is read (RFC 6749 §4.1.3; ServiceNow's docs: "A
 * content-type of application/json results in an unspecified error"), so a JSON body gets 400
 * `invalid_request` here instead of being guessed at.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { authenticateClient } from './clientAuth.js';
import { type Context, hangUntilClosed, wait } from './context.js';
import type { Fault } from './instance.js';
import { NO_STORE, isForm, readBody, repeatedParams, sendAny, sendJson } from './http.js';
import { type OAuthAnswer, invalidGrant, oauthError } from './oauthErrors.js';
import type { DevClient } from './options.js';
import { verifierMatches } from './pkce.js';

const MAX_FORM_BYTES = 64 * 1024;
/** ServiceNow grants its own APIs under this scope; the app asks for nothing else. */
const SCOPE = 'useraccount';

function tokenBody(accessToken: string, expiresIn: number, refreshToken?: string): Record<string, unknown> {
  // ServiceNow's field order.
  return {
    access_token: accessToken,
    ...(refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
    scope: SCOPE,
    token_type: 'Bearer',
    expires_in: expiresIn,
  };
}

function userName(ctx: Context, sysId: string): string {
  return ctx.config.usersById.get(sysId)?.userName ?? sysId;
}

function authorizationCodeGrant(ctx: Context, client: DevClient, params: URLSearchParams): OAuthAnswer {
  const code = params.get('code');
  if (!code) return oauthError(400, 'invalid_request', 'code is required.');
  const record = ctx.store.takeCode(code);
  if (!record) return invalidGrant('The authorization code is invalid, expired or already used.');
  if (record.clientId !== client.clientId) return invalidGrant('The authorization code was issued to another client.');
  const redirectUri = params.get('redirect_uri');
  // RFC 6749 §4.1.3: required, and identical, when the authorization request included it.
  if ((record.redirectUriGiven || redirectUri !== null) && redirectUri !== record.redirectUri) {
    return invalidGrant('redirect_uri does not match the authorization request.');
  }
  // RFC 7636 §4.6.
  if (!verifierMatches(params.get('code_verifier'), record.codeChallenge)) {
    return invalidGrant('code_verifier does not match the code_challenge.');
  }
  if (!ctx.config.usersById.has(record.userSysId)) return invalidGrant('The user no longer exists.');
  const tokens = ctx.store.issue(client.clientId, record.userSysId);
  ctx.config.log(`token: authorization_code for ${userName(ctx, record.userSysId)} (${client.clientId})`);
  return { status: 200, body: tokenBody(tokens.accessToken, tokens.expiresIn, tokens.refreshToken) };
}

function refreshTokenGrant(ctx: Context, client: DevClient, params: URLSearchParams): OAuthAnswer {
  const refreshToken = params.get('refresh_token');
  if (!refreshToken) return oauthError(400, 'invalid_request', 'refresh_token is required.');
  const result = ctx.store.refresh(refreshToken, client.clientId);
  if (!result.ok) return invalidGrant(result.reason);
  ctx.config.log(`token: refresh_token (${client.clientId})${ctx.config.rotateRefreshTokens ? ', rotated' : ''}`);
  return { status: 200, body: tokenBody(result.tokens.accessToken, result.tokens.expiresIn, result.tokens.refreshToken) };
}

function clientCredentialsGrant(ctx: Context, client: DevClient): OAuthAnswer {
  const user = ctx.config.serviceUser;
  const token = ctx.store.issueAccessOnly(client.clientId, user.sysId);
  ctx.config.log(`token: client_credentials (${client.clientId}) acting as ${user.userName}`);
  return { status: 200, body: tokenBody(token.accessToken, token.expiresIn) };
}

const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);

function answer(ctx: Context, req: IncomingMessage, params: URLSearchParams | undefined): OAuthAnswer {
  if (req.method !== 'POST') return { ...oauthError(405, 'invalid_request', 'Use POST.'), headers: { allow: 'POST' } };
  if (!params) return oauthError(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded.');
  const repeated = repeatedParams(params);
  if (repeated.length > 0) return oauthError(400, 'invalid_request', `Repeated parameter: ${repeated.join(', ')}.`);
  const grantType = params.get('grant_type');
  if (!grantType) return oauthError(400, 'invalid_request', 'grant_type is required.');
  if (!GRANT_TYPES.has(grantType)) return oauthError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported.`);

  const auth = authenticateClient(ctx.config, req, params);
  if (!auth.ok) return auth.answer;
  switch (grantType) {
    case 'authorization_code':
      return authorizationCodeGrant(ctx, auth.client, params);
    case 'refresh_token':
      return refreshTokenGrant(ctx, auth.client, params);
    default:
      // A public client has nothing to authenticate with, so it cannot use this grant.
      if (auth.client.clientSecret === undefined) {
        return oauthError(400, 'unsupported_grant_type', 'client_credentials needs a client with a secret.');
      }
      return clientCredentialsGrant(ctx, auth.client);
  }
}

async function answerFault(ctx: Context, res: ServerResponse, fault: Fault): Promise<void> {
  if ('hang' in fault) return hangUntilClosed(ctx.closing);
  if ('invalidGrant' in fault) {
    const { status, body } = invalidGrant('The refresh token is invalid, expired or revoked (injected fault).');
    sendJson(res, status, body, NO_STORE);
    return;
  }
  const body = fault.body ?? {
    error: fault.status === 429 ? 'temporarily_unavailable' : 'server_error',
    error_description: `HTTP ${fault.status} injected by the development instance.`,
  };
  sendAny(res, fault.status, body, { ...NO_STORE, ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}) });
}

export async function handleToken(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req, MAX_FORM_BYTES);
  ctx.stats.tokenRequests += 1;
  const params = isForm(req) ? new URLSearchParams(raw.toString('utf8')) : undefined;
  const grantType = params?.get('grant_type');
  if (grantType === 'authorization_code') ctx.stats.codeGrants += 1;
  if (grantType === 'refresh_token') ctx.stats.refreshGrants += 1;

  if (!(await wait(ctx.tokenLatencyMs, ctx.closing))) return;
  const fault = ctx.faults.take('token');
  if (fault) return answerFault(ctx, res, fault);
  const { status, body, headers } = answer(ctx, req, params);
  sendJson(res, status, body, { ...NO_STORE, ...headers });
}
