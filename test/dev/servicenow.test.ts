/**
 * The ServiceNow development instance, driven over real HTTP with fetch, as the app and the
 * bridge use it. Every instance listens on an ephemeral port.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type DevServiceNow, type DevServiceNowOptions, startDevServiceNow } from '../../dev/servicenow/instance.js';

const BETH = '46d44a23a9fe19810012d100cca80666';
const DAVID = '5137153cc611227c000bbd1bd8cd2007';
const FRED = '5137153cc611227c000bbd1bd8cd2005';
const NETWORK = '287ebd7da9fe198100f92cc8d1d2154e';
const SERVICE_DESK = '8a4dde73c6112278017a6a4baf547aa7';
const DATABASE = 'd625dccec0a8016700a222a0f7900d06';
const CLIENT = 'flowquest-mobile';
const REDIRECT = 'flowquest://auth/callback';
/** The exact request of CONTRACT.md §5. */
const WHO_AM_I = '/api/now/table/sys_user?sysparm_query=sys_id%3Djavascript%3Ags.getUserID()&sysparm_fields=sys_id%2Cuser_name%2Cname&sysparm_limit=1';
const NOT_AUTHENTICATED = { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' };

const started: DevServiceNow[] = [];
async function start(options: DevServiceNowOptions = {}): Promise<DevServiceNow> {
  const instance = await startDevServiceNow({ port: 0, ...options });
  started.push(instance);
  return instance;
}
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeQuery(overrides: Record<string, string | null> = {}): URLSearchParams {
  const base: Record<string, string | null> = {
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'st-123',
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(base)) if (value !== null) params.set(name, value);
  return params;
}

function form(params: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() };
}

/** The hidden and named inputs of the form with this id on an HTML page. */
function formFields(html: string, formId: string): URLSearchParams {
  const match = new RegExp(`<form[^>]*id="${formId}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!match?.[1]) throw new Error(`no form ${formId}`);
  const fields = new URLSearchParams();
  for (const input of match[1].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    const decode = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    fields.append(decode(input[1] ?? ''), decode(input[2] ?? ''));
  }
  return fields;
}

/** Signs in through the page as the user of that form, and returns the redirect's parameters. */
async function signIn(sn: DevServiceNow, query: URLSearchParams, formId = 'form-beth-anglin'): Promise<{ location: string; params: URLSearchParams }> {
  const page = await fetch(`${sn.url}/oauth_auth.do?${query.toString()}`);
  expect(page.status).toBe(200);
  const fields = formFields(await page.text(), formId);
  const answer = await fetch(`${sn.url}/oauth_auth.do`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
    redirect: 'manual',
  });
  expect(answer.status).toBe(302);
  const location = answer.headers.get('location') ?? '';
  return { location, params: new URL(location).searchParams };
}

async function codeFor(sn: DevServiceNow, challenge: string, extra: Record<string, string> = {}): Promise<string> {
  const { params } = await signIn(sn, authorizeQuery({ code_challenge: challenge, ...extra }));
  const code = params.get('code');
  if (!code) throw new Error(`no code: ${params.toString()}`);
  return code;
}

async function token(sn: DevServiceNow, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const init = form(params);
  const response = await fetch(`${sn.url}/oauth_token.do`, { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function table(sn: DevServiceNow, path: string, accessToken?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${sn.url}${path}`, { headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function revoke(sn: DevServiceNow, value: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sn.url}/oauth_revoke_token.do`, form({ token: value }));
  return { status: response.status, body: await response.json() };
}

const refresh = (sn: DevServiceNow, refreshToken: string, extra: Record<string, string> = {}) =>
  token(sn, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT, ...extra });

describe('authorization code + PKCE', () => {
  let sn: DevServiceNow;
  beforeAll(async () => {
    sn = await start();
  });

  it('shows a sign-in page with one button per demo user', async () => {
    const response = await fetch(`${sn.url}/oauth_auth.do?${authorizeQuery().toString()}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('Sign in to the FlowQuest development instance');
    expect(html).toMatch(/<button type="submit" id="user-beth-anglin" data-user="beth.anglin" data-sys-id="46d44a23a9fe19810012d100cca80666">Beth Anglin<\/button>/);
    for (const id of ['user-david-loo', 'user-admin', 'user-fred-luddy', 'deny']) expect(html).toContain(`id="${id}"`);
  });

  it('redeems the code with the right verifier, and the token identifies Beth', async () => {
    const { verifier, challenge } = pkce();
    const { location, params } = await signIn(sn, authorizeQuery({ code_challenge: challenge, state: 'a b&c' }));
    expect(location.startsWith(`${REDIRECT}?`)).toBe(true);
    expect(params.get('state')).toBe('a b&c');
    const code = params.get('code') ?? '';
    expect(code.length).toBeGreaterThanOrEqual(40);

    const redeemed = await token(sn, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT, code_verifier: verifier });
    expect(redeemed.status).toBe(200);
    expect(redeemed.headers.get('cache-control')).toBe('no-store');
    expect(redeemed.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      scope: 'useraccount',
      token_type: 'Bearer',
      expires_in: 1800,
    });
    // Opaque, not JWTs.
    expect(redeemed.body.access_token.split('.')).toHaveLength(1);

    const me = await table(sn, WHO_AM_I, redeemed.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ result: [{ sys_id: BETH, user_name: 'beth.anglin', name: 'Beth Anglin' }] });
  });

  it('refuses a wrong verifier, a reused code and a different redirect_uri with invalid_grant', async () => {
    const { verifier, challenge } = pkce();
    const redeem = (code: string, overrides: Record<string, string> = {}) =>
      token(sn, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT, code_verifier: verifier, ...overrides });

    const wrongVerifier = await redeem(await codeFor(sn, challenge), { code_verifier: pkce().verifier });
    expect(wrongVerifier.status).toBe(401);
    expect(wrongVerifier.body.error).toBe('invalid_grant');

    const code = await codeFor(sn, challenge);
    expect((await redeem(code)).status).toBe(200);
    const reused = await redeem(code);
    expect(reused.status).toBe(401);
    expect(reused.body.error).toBe('invalid_grant');

    const otherRedirect = await redeem(await codeFor(sn, challenge), { redirect_uri: 'flowquest://auth/other' });
    expect(otherRedirect.status).toBe(401);
    expect(otherRedirect.body.error).toBe('invalid_grant');

    const noVerifier = await token(sn, { grant_type: 'authorization_code', code: await codeFor(sn, challenge), redirect_uri: REDIRECT, client_id: CLIENT });
    expect(noVerifier.body.error).toBe('invalid_grant');
  });

  it('sends errors back to a valid redirect URI, and shows a page for an untrusted one', async () => {
    const get = (query: URLSearchParams) => fetch(`${sn.url}/oauth_auth.do?${query.toString()}`, { redirect: 'manual' });
    const errorOf = async (query: URLSearchParams) => {
      const response = await get(query);
      expect(response.status).toBe(302);
      return Object.fromEntries(new URL(response.headers.get('location') ?? '').searchParams);
    };
    expect(await errorOf(authorizeQuery({ code_challenge_method: 'plain' }))).toMatchObject({ error: 'invalid_request', state: 'st-123' });
    expect(await errorOf(authorizeQuery({ code_challenge_method: null }))).toMatchObject({ error: 'invalid_request' });
    expect(await errorOf(authorizeQuery({ code_challenge: null }))).toMatchObject({ error: 'invalid_request' });
    expect(await errorOf(authorizeQuery({ response_type: 'token' }))).toMatchObject({ error: 'unsupported_response_type' });

    for (const query of [
      authorizeQuery({ client_id: 'nobody' }),
      authorizeQuery({ redirect_uri: 'https://evil.example/callback' }),
      authorizeQuery({ redirect_uri: 'javascript:alert(1)' }),
      authorizeQuery({ redirect_uri: null }),
    ]) {
      const response = await get(query);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('Sign-in request rejected');
    }
    // Loopback redirects are fine for a client without registered URIs.
    expect((await get(authorizeQuery({ redirect_uri: 'http://127.0.0.1:53123/cb' }))).status).toBe(200);
  });

  it('answers access_denied when the user cancels, and escapes what it reflects', async () => {
    const query = authorizeQuery({ state: '"><script>x</script>' });
    const html = await (await fetch(`${sn.url}/oauth_auth.do?${query.toString()}`)).text();
    expect(html).not.toContain('<script>');
    const { params } = await signIn(sn, query, 'form-deny');
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('"><script>x</script>');
    expect(params.get('code')).toBeNull();
  });

  it('refuses a JSON body at oauth_token.do', async () => {
    const response = await fetch(`${sn.url}/oauth_token.do`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: sn.issueTokens(CLIENT, BETH).refreshToken, client_id: CLIENT }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error).toBe('invalid_request');
  });

  it('answers unknown clients with invalid_client and unknown grants with unsupported_grant_type', async () => {
    const unknown = await token(sn, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'nobody' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_client');
    const password = await token(sn, { grant_type: 'password', username: 'admin', password: 'admin', client_id: CLIENT });
    expect(password.status).toBe(400);
    expect(password.body.error).toBe('unsupported_grant_type');
    const publicCredentials = await token(sn, { grant_type: 'client_credentials', client_id: CLIENT });
    expect(publicCredentials.status).toBe(400);
    expect(publicCredentials.body.error).toBe('unsupported_grant_type');
  });
});

describe('refresh and revocation', () => {
  let sn: DevServiceNow;
  beforeAll(async () => {
    sn = await start();
  });

  it('refreshes with the same refresh token (ServiceNow does not rotate)', async () => {
    const issued = sn.issueTokens(CLIENT, DAVID);
    const first = await refresh(sn, issued.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toBe(issued.refreshToken);
    expect(first.body.access_token).not.toBe(issued.accessToken);
    const second = await refresh(sn, issued.refreshToken);
    expect(second.body.refresh_token).toBe(issued.refreshToken);
    expect((await table(sn, WHO_AM_I, second.body.access_token)).body.result[0].sys_id).toBe(DAVID);
  });

  it('binds a refresh token to its client', async () => {
    const other = await start({ clients: [{ clientId: CLIENT }, { clientId: 'other-app' }] });
    const issued = other.issueTokens(CLIENT, DAVID);
    const answer = await token(other, { grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: 'other-app' });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_grant');
  });

  it('revoking a refresh token ends it and its access tokens', async () => {
    const issued = sn.issueTokens(CLIENT, BETH);
    const refreshed = await refresh(sn, issued.refreshToken);
    expect(await revoke(sn, issued.refreshToken)).toEqual({ status: 200, body: {} });
    const again = await refresh(sn, issued.refreshToken);
    expect(again.status).toBe(401);
    expect(again.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    for (const accessToken of [issued.accessToken, refreshed.body.access_token]) {
      const answer = await table(sn, WHO_AM_I, accessToken);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(NOT_AUTHENTICATED);
    }
  });

  it('revoking an access token ends only that one; unknown tokens are 200 too', async () => {
    const issued = sn.issueTokens(CLIENT, BETH);
    expect(await revoke(sn, issued.accessToken)).toEqual({ status: 200, body: {} });
    expect((await table(sn, WHO_AM_I, issued.accessToken)).status).toBe(401);
    expect((await refresh(sn, issued.refreshToken)).status).toBe(200);
    expect(await revoke(sn, 'never-issued')).toEqual({ status: 200, body: {} });
    // ServiceNow's documented form: the token in the query string.
    expect((await fetch(`${sn.url}/oauth_revoke_token.do?token=${encodeURIComponent(issued.refreshToken)}`)).status).toBe(200);
    expect((await refresh(sn, issued.refreshToken)).body.error).toBe('invalid_grant');
  });

  it('revokeUser ends every token of that user only', async () => {
    const beth = sn.issueTokens(CLIENT, BETH);
    const fred = sn.issueTokens(CLIENT, FRED);
    sn.revokeUser(BETH);
    expect((await refresh(sn, beth.refreshToken)).body.error).toBe('invalid_grant');
    expect((await table(sn, WHO_AM_I, beth.accessToken)).status).toBe(401);
    expect((await table(sn, WHO_AM_I, fred.accessToken)).status).toBe(200);
  });

  it('rotateRefreshTokens returns a new refresh token and invalidates the old', async () => {
    const rotating = await start({ rotateRefreshTokens: true });
    const issued = rotating.issueTokens(CLIENT, BETH);
    const first = await refresh(rotating, issued.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(issued.refreshToken);
    expect((await refresh(rotating, issued.refreshToken)).body.error).toBe('invalid_grant');
    expect((await refresh(rotating, first.body.refresh_token)).status).toBe(200);
  });

  it('expires access and refresh tokens after their lifetimes', async () => {
    const short = await start({ accessTokenLifetimeSeconds: 1, refreshTokenLifetimeSeconds: 1 });
    const issued = short.issueTokens(CLIENT, BETH);
    expect(issued.expiresIn).toBe(1);
    expect((await table(short, WHO_AM_I, issued.accessToken)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await table(short, WHO_AM_I, issued.accessToken)).body).toEqual(NOT_AUTHENTICATED);
    expect((await refresh(short, issued.refreshToken)).body.error).toBe('invalid_grant');
  });
});

describe('Table API', () => {
  let sn: DevServiceNow;
  let beth: string;
  beforeAll(async () => {
    sn = await start();
    beth = sn.issueTokens(CLIENT, BETH).accessToken;
  });

  it('answers without or with a bad token with ServiceNow JSON 401', async () => {
    for (const answer of [await table(sn, '/api/now/table/sys_user?sysparm_limit=1'), await table(sn, WHO_AM_I, 'bogus')]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(NOT_AUTHENTICATED);
    }
  });

  it('reads sys_user by sys_id, honouring sysparm_fields, and only the token’s own user', async () => {
    const own = await table(sn, `/api/now/table/sys_user?sysparm_query=sys_id%3D${BETH}&sysparm_fields=user_name`, beth);
    expect(own.body).toEqual({ result: [{ user_name: 'beth.anglin' }] });
    const all = await table(sn, `/api/now/table/sys_user?sysparm_query=sys_id%3D${BETH}`, beth);
    expect(all.body.result[0]).toMatchObject({ sys_id: BETH, user_name: 'beth.anglin', name: 'Beth Anglin', active: 'true' });
    expect((await table(sn, `/api/now/table/sys_user?sysparm_query=sys_id%3D${DAVID}`, beth)).body).toEqual({ result: [] });
    expect((await table(sn, `/api/now/table/sys_user/${DAVID}`, beth)).status).toBe(404);
    expect((await table(sn, `/api/now/table/sys_user/${BETH}?sysparm_fields=name`, beth)).body).toEqual({ result: { name: 'Beth Anglin' } });
  });

  it('reads the user’s memberships with and without reference links', async () => {
    const plain = await table(sn, `/api/now/table/sys_user_grmember?sysparm_query=user%3D${BETH}&sysparm_fields=group&sysparm_exclude_reference_link=true`, beth);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ result: [{ group: NETWORK }, { group: SERVICE_DESK }] });
    expect(plain.headers.get('x-total-count')).toBe('2');

    const linked = await table(sn, `/api/now/table/sys_user_grmember?sysparm_query=user%3D${BETH}&sysparm_fields=group`, beth);
    expect(linked.body.result[0]).toEqual({ group: { link: `${sn.url}/api/now/table/sys_user_group/${NETWORK}`, value: NETWORK } });

    const limited = await table(sn, `/api/now/table/sys_user_grmember?sysparm_query=user%3Djavascript%3Ags.getUserID()&sysparm_fields=group&sysparm_exclude_reference_link=true&sysparm_limit=1`, beth);
    expect(limited.body).toEqual({ result: [{ group: NETWORK }] });

    const david = sn.issueTokens(CLIENT, DAVID).accessToken;
    const davids = await table(sn, `/api/now/table/sys_user_grmember?sysparm_query=user%3D${DAVID}&sysparm_fields=group&sysparm_exclude_reference_link=true`, david);
    expect(davids.body.result).toEqual([{ group: SERVICE_DESK }, { group: DATABASE }]);
    // Someone else's memberships are not visible.
    expect((await table(sn, `/api/now/table/sys_user_grmember?sysparm_query=user%3D${DAVID}`, beth)).body).toEqual({ result: [] });
  });

  it('reads groups', async () => {
    const answer = await table(sn, `/api/now/table/sys_user_group?sysparm_query=sys_idIN${NETWORK}%2C${DATABASE}&sysparm_fields=sys_id%2Cname`, beth);
    expect(answer.body).toEqual({ result: [{ sys_id: NETWORK, name: 'Network' }, { sys_id: DATABASE, name: 'Database' }] });
  });

  it('refuses what it cannot answer faithfully', async () => {
    expect((await table(sn, '/api/now/table/incident', beth)).status).toBe(400);
    expect((await table(sn, '/api/now/table/sys_user?sysparm_query=nope%3D1', beth)).status).toBe(400);
    expect((await table(sn, '/api/now/table/sys_user?sysparm_query=nameLIKEBeth', beth)).status).toBe(400);
  });
});

describe('fault injection, latency and counters', () => {
  it('answers the next token calls with an injected status, then normally', async () => {
    const sn = await start();
    const issued = sn.issueTokens(CLIENT, BETH);
    sn.injectFault('token', { status: 503, retryAfter: 7 }, 2);
    for (let i = 0; i < 2; i++) {
      const answer = await refresh(sn, issued.refreshToken);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('7');
    }
    expect((await refresh(sn, issued.refreshToken)).status).toBe(200);

    sn.injectFault('token', { invalidGrant: true });
    const refused = await refresh(sn, issued.refreshToken);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_grant');
    expect((await refresh(sn, issued.refreshToken)).status).toBe(200);

    sn.injectFault('token', { status: 502, body: '<html>Instance hibernating</html>' });
    const html = await fetch(`${sn.url}/oauth_token.do`, form({ grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: CLIENT }));
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toBe('<html>Instance hibernating</html>');
  });

  it('answers the Table API with 429 and Retry-After', async () => {
    const sn = await start();
    const { accessToken } = sn.issueTokens(CLIENT, BETH);
    sn.injectFault('table', { status: 429, retryAfter: 3 });
    const limited = await table(sn, WHO_AM_I, accessToken);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.body.status).toBe('failure');
    expect((await table(sn, WHO_AM_I, accessToken)).status).toBe(200);
  });

  it('a hanging answer does not outlive close()', async () => {
    const sn = await startDevServiceNow({ port: 0 });
    sn.injectFault('token', { hang: true });
    sn.injectFault('table', { hang: true });
    const hanging = [
      fetch(`${sn.url}/oauth_token.do`, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT })).then(
        () => 'answered',
        () => 'aborted',
      ),
      fetch(`${sn.url}${WHO_AM_I}`).then(
        () => 'answered',
        () => 'aborted',
      ),
    ];
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sn.stats().tokenRequests).toBe(1);
    const closing = performance.now();
    await sn.close();
    expect(performance.now() - closing).toBeLessThan(1000);
    expect(await Promise.all(hanging)).toEqual(['aborted', 'aborted']);
  });

  it('delays token answers so concurrent refreshes overlap, and close() cuts the delay short', async () => {
    const sn = await start();
    const issued = sn.issueTokens(CLIENT, BETH);
    sn.setTokenLatency(500);
    const began = performance.now();
    const answers = await Promise.all([refresh(sn, issued.refreshToken), refresh(sn, issued.refreshToken)]);
    const elapsed = performance.now() - began;
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // Delayed, and concurrently: two answers one after the other would take 1 s or more.
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(950);

    const slow = await startDevServiceNow({ port: 0 });
    slow.setTokenLatency(60_000);
    const pending = fetch(`${slow.url}/oauth_token.do`, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT })).then(
      () => 'answered',
      () => 'aborted',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await slow.close();
    expect(await pending).toBe('aborted');
  });

  it('counts token requests by grant, revocations and table requests', async () => {
    const sn = await start();
    const { verifier, challenge } = pkce();
    const code = await codeFor(sn, challenge);
    const redeemed = await token(sn, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT, code_verifier: verifier });
    await refresh(sn, redeemed.body.refresh_token);
    await refresh(sn, 'unknown');
    await token(sn, { grant_type: 'client_credentials', client_id: CLIENT });
    await table(sn, WHO_AM_I, redeemed.body.access_token);
    await table(sn, WHO_AM_I);
    await revoke(sn, redeemed.body.refresh_token);
    expect(sn.stats()).toEqual({ tokenRequests: 4, refreshGrants: 2, codeGrants: 1, revocations: 1, tableRequests: 2 });
  });

  it('checks its arguments', async () => {
    const sn = await start();
    expect(() => sn.injectFault('token', { status: 42 })).toThrow(RangeError);
    expect(() => sn.injectFault('table', { status: 503 }, 0)).toThrow(RangeError);
    expect(() => sn.setTokenLatency(-1)).toThrow(RangeError);
    expect(() => sn.issueTokens('nobody', BETH)).toThrow(TypeError);
    expect(() => sn.issueTokens(CLIENT, '0'.repeat(32))).toThrow(TypeError);
    await expect(startDevServiceNow({ port: 0, users: [{ sysId: BETH, userName: 'b', name: 'B', groups: ['nope'] }] })).rejects.toThrow(TypeError);
  });
});

describe('a client with a secret', () => {
  let sn: DevServiceNow;
  beforeAll(async () => {
    sn = await start({
      clients: [{ clientId: 'bridge-web', clientSecret: 's3cret', redirectUris: ['https://bridge.example/callback'] }],
    });
  });

  it('redeems a code only with the right secret, in the form or as HTTP Basic', async () => {
    const { verifier, challenge } = pkce();
    const get = async (): Promise<string> => {
      const query = authorizeQuery({ client_id: 'bridge-web', redirect_uri: 'https://bridge.example/callback', code_challenge: challenge });
      const { params } = await signIn(sn, query);
      return params.get('code') ?? '';
    };
    const base = { grant_type: 'authorization_code', redirect_uri: 'https://bridge.example/callback', code_verifier: verifier };

    const wrong = await token(sn, { ...base, code: await get(), client_id: 'bridge-web', client_secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const missing = await token(sn, { ...base, code: await get(), client_id: 'bridge-web' });
    expect(missing.body.error).toBe('invalid_client');

    const ok = await token(sn, { ...base, code: await get(), client_id: 'bridge-web', client_secret: 's3cret' });
    expect(ok.status).toBe(200);
    const basic = await token(sn, { ...base, code: await get() }, { authorization: `Basic ${Buffer.from('bridge-web:s3cret').toString('base64')}` });
    expect(basic.status).toBe(200);
    const refreshed = await token(sn, { grant_type: 'refresh_token', refresh_token: basic.body.refresh_token, client_id: 'bridge-web', client_secret: 's3cret' });
    expect(refreshed.status).toBe(200);
  });

  it('uses its registered redirect URI only', async () => {
    const response = await fetch(`${sn.url}/oauth_auth.do?${authorizeQuery({ client_id: 'bridge-web', redirect_uri: 'http://127.0.0.1/cb' }).toString()}`);
    expect(response.status).toBe(400);
    // The only registered URI is the default when the request leaves it out.
    const { location } = await signIn(sn, authorizeQuery({ client_id: 'bridge-web', redirect_uri: null }));
    expect(location.startsWith('https://bridge.example/callback?code=')).toBe(true);
  });

  it('gives client_credentials tokens for the right secret (the bridge’s connection test)', async () => {
    const ok = await token(sn, { grant_type: 'client_credentials', client_id: 'bridge-web', client_secret: 's3cret' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ access_token: expect.any(String), scope: 'useraccount', token_type: 'Bearer', expires_in: 1800 });
    const wrong = await token(sn, { grant_type: 'client_credentials', client_id: 'bridge-web', client_secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
  });
});

describe('signed events', () => {
  const SECRET_KEY = randomBytes(32);
  const SECRET = `whsec_${SECRET_KEY.toString('base64')}`;
  let sn: DevServiceNow;
  let receiver: Server;
  let receiverUrl: string;
  const received: Array<{ url: string; headers: IncomingHttpHeaders; body: Buffer }> = [];

  beforeAll(async () => {
    sn = await start();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'accepted', id: req.headers['webhook-id'], notifications: 1 }));
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  function verify(entry: { headers: IncomingHttpHeaders; body: Buffer }): boolean {
    const id = String(entry.headers['webhook-id']);
    const timestamp = String(entry.headers['webhook-timestamp']);
    const expected = createHmac('sha256', SECRET_KEY).update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), entry.body])).digest('base64');
    return String(entry.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
  }

  it('refuses to emit without a target, and checks the target once', async () => {
    sn.configureWebhook(null);
    await expect(sn.emit({ event: 'record.inserted' })).rejects.toThrow(/configureWebhook/);
    const answer = await fetch(`${sn.url}/dev/emit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fixture: 'incident-p1-inserted-assigned.json' }),
    });
    expect(answer.status).toBe(409);
    expect(() => sn.configureWebhook({ bridgeUrl: receiverUrl, instanceId: 'acme-dev', secret: 'not-whsec' })).toThrow(TypeError);
    expect(() => sn.configureWebhook({ bridgeUrl: receiverUrl, instanceId: 'Bad Id', secret: SECRET })).toThrow(TypeError);
  });

  it('signs the exact bytes it sends, non-ASCII included', async () => {
    sn.configureWebhook({ bridgeUrl: receiverUrl, instanceId: 'acme-dev', secret: SECRET });
    const event = {
      event: 'record.inserted',
      table: 'incident',
      sys_id: '9d385017c611228701d22104cc95c371',
      changed: [],
      record: { priority: '1', short_description: 'Störung im Rechenzentrum — 東京 🚨' },
    };
    const result = await sn.emit(event);
    expect(result.status).toBe(202);
    expect(result.body).toEqual({ status: 'accepted', id: result.webhookId, notifications: 1 });
    expect(result.webhookId).toMatch(/^[0-9a-f]{32}$/);

    const entry = received.at(-1);
    if (!entry) throw new Error('nothing received');
    expect(entry.url).toBe('/api/webhooks/servicenow/acme-dev');
    expect(entry.headers['content-type']).toBe('application/json');
    expect(entry.headers['webhook-id']).toBe(result.webhookId);
    expect(Math.abs(Number(entry.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(verify(entry)).toBe(true);
    expect(entry.body.equals(Buffer.from(JSON.stringify(event), 'utf8'))).toBe(true);
    expect(JSON.parse(entry.body.toString('utf8'))).toEqual(event);
    // A changed body does not verify: the check above is not vacuous.
    const tampered = { ...entry, body: Buffer.concat([entry.body.subarray(0, -1), Buffer.from(' }')]) };
    expect(verify(tampered)).toBe(false);
  });

  it('POST /dev/emit sends a shared fixture or a given event and answers with the bridge’s reply', async () => {
    sn.configureWebhook({ bridgeUrl: receiverUrl, instanceId: 'acme-dev', secret: SECRET });
    const post = (body: unknown) =>
      fetch(`${sn.url}/dev/emit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const fixture = await post({ fixture: 'incident-p1-inserted-assigned.json' });
    expect(fixture.status).toBe(202);
    const webhookId = fixture.headers.get('webhook-id');
    expect(await fixture.json()).toEqual({ status: 'accepted', id: webhookId, notifications: 1 });
    const entry = received.at(-1);
    expect(entry && verify(entry)).toBe(true);
    expect(JSON.parse(entry?.body.toString('utf8') ?? '{}')).toMatchObject({ number: 'INC0010042', record: { assigned_to: BETH } });

    expect((await post({ event: { event: 'record.deleted', table: 'incident' } })).status).toBe(202);
    expect((await post({ fixture: '../package.json' })).status).toBe(400);
    expect((await post({ fixture: 'no-such-fixture.json' })).status).toBe(404);
    expect((await post({})).status).toBe(400);
  });

  it('POST /dev/emit allows loopback origins (the live console on another port), no others', async () => {
    sn.configureWebhook({ bridgeUrl: receiverUrl, instanceId: 'acme-dev', secret: SECRET });
    const preflight = (origin: string) =>
      fetch(`${sn.url}/dev/emit`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const allowed = await preflight('http://127.0.0.1:7071');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:7071');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('content-type');
    expect((await preflight('https://evil.example')).status).toBe(403);
    const emit = (origin: string) =>
      fetch(`${sn.url}/dev/emit`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ fixture: 'incident-p1-inserted-assigned.json' }) });
    const fromConsole = await emit('http://localhost:7071');
    expect([fromConsole.status, fromConsole.headers.get('access-control-allow-origin')]).toEqual([202, 'http://localhost:7071']);
    expect(fromConsole.headers.get('access-control-expose-headers')).toBe('webhook-id');
    expect((await emit('http://127.0.0.1.evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('logging', () => {
  it('never logs tokens, codes or verifiers', async () => {
    const lines: string[] = [];
    const sn = await start({ log: (line) => lines.push(line) });
    const { verifier, challenge } = pkce();
    const { params } = await signIn(sn, authorizeQuery({ code_challenge: challenge }));
    const code = params.get('code') ?? '';
    const redeemed = await token(sn, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT, code_verifier: verifier });
    await refresh(sn, redeemed.body.refresh_token);
    await table(sn, WHO_AM_I, redeemed.body.access_token);
    await revoke(sn, redeemed.body.refresh_token);
    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(log).toContain('sign-in: beth.anglin');
    for (const secret of [code, verifier, challenge, redeemed.body.access_token, redeemed.body.refresh_token]) expect(log).not.toContain(secret);
  });
});
