/**
 * The ServiceNow calls the bridge makes on behalf of a signed-in user: OAuth token grants and
 * revocation (`oauth_token.do`, `oauth_revoke_token.do`, form-encoded: ServiceNow rejects JSON there)
 * and two Table API reads. `fetch` is passed in; every failure becomes an `UpstreamError` with a kind
 * the caller can act on, never a raw network error.
 */

export type UpstreamFailure =
  /** ServiceNow refused the grant (expired, revoked or unknown code or refresh token): sign in again. */
  | 'invalid_grant'
  /** ServiceNow refused the client or the access token. */
  | 'unauthorized'
  /** 429: wait `retryAfter` seconds. */
  | 'rate_limited'
  /** 5xx, a timeout, or no answer: worth retrying with backoff. */
  | 'unavailable';

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    readonly status: number | undefined,
    readonly retryAfter?: number,
  ) {
    super(`ServiceNow ${kind}${status === undefined ? '' : ` (${status})`}`);
    this.name = 'UpstreamError';
  }
}

export interface TokenSet {
  accessToken: string;
  /** Absent when ServiceNow did not return one (it keeps the old one on refresh by default). */
  refreshToken?: string;
  /** Seconds. */
  expiresIn: number;
  /** Seconds the refresh token lives, when the server says so (`refresh_token_expires_in`). */
  refreshExpiresIn?: number;
}

export interface ServiceNowUser {
  sysId: string;
  userName: string;
  name: string;
}

export interface OAuthClient {
  baseUrl: string;
  clientId: string;
  clientSecret?: string;
}

export interface ServiceNowClientDeps {
  fetch: typeof fetch;
  timeoutMs: number;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), bounded to something sane. */
export function retryAfterSeconds(header: string | null, nowMs = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header.trim()) : Math.ceil((Date.parse(header) - nowMs) / 1000);
  return Number.isFinite(seconds) ? Math.min(3600, Math.max(1, seconds)) : undefined;
}

export class ServiceNowClient {
  constructor(private readonly deps: ServiceNowClientDeps) {}

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.deps.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.deps.timeoutMs) });
    } catch {
      throw new UpstreamError('unavailable', undefined);
    }
  }

  private async grant(client: OAuthClient, form: Record<string, string>): Promise<TokenSet> {
    const body = new URLSearchParams({ ...form, client_id: client.clientId, ...(client.clientSecret ? { client_secret: client.clientSecret } : {}) });
    const res = await this.send(`${client.baseUrl}/oauth_token.do`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status === 429) throw new UpstreamError('rate_limited', 429, retryAfterSeconds(res.headers.get('retry-after')) ?? 5);
    if (res.status >= 500) throw new UpstreamError('unavailable', res.status);
    if (!res.ok || typeof answer.access_token !== 'string') {
      // RFC 6749 §5.2 says invalid_grant; ServiceNow itself is reported to answer a dead refresh token
      // with 401 {"error":"server_error","error_description":"access_denied"}. Either way the grant is
      // dead and the user must sign in again (a wrong client secret looks the same, and then the new
      // sign-in fails with AUTH_FAILED and the operator's connection test with AUTH_FAILED).
      const deadGrant = answer.error === 'invalid_grant' || (res.status === 401 && (answer.error_description === 'access_denied' || answer.error === 'access_denied'));
      if (deadGrant) throw new UpstreamError('invalid_grant', res.status);
      throw new UpstreamError('unauthorized', res.status);
    }
    const expiresIn = Number(answer.expires_in);
    const refreshExpiresIn = Number(answer.refresh_token_expires_in);
    return {
      ...(Number.isFinite(refreshExpiresIn) && refreshExpiresIn > 0 ? { refreshExpiresIn } : {}),
      accessToken: answer.access_token,
      ...(typeof answer.refresh_token === 'string' && answer.refresh_token ? { refreshToken: answer.refresh_token } : {}),
      expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 1800,
    };
  }

  redeemCode(client: OAuthClient, code: string, codeVerifier: string, redirectUri: string): Promise<TokenSet> {
    return this.grant(client, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier });
  }

  refresh(client: OAuthClient, refreshToken: string): Promise<TokenSet> {
    return this.grant(client, { grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async revoke(client: OAuthClient, token: string): Promise<void> {
    const res = await this.send(`${client.baseUrl}/oauth_revoke_token.do`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: client.clientId, ...(client.clientSecret ? { client_secret: client.clientSecret } : {}) }).toString(),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 429) throw new UpstreamError('rate_limited', 429, retryAfterSeconds(res.headers.get('retry-after')) ?? 5);
    if (res.status >= 500) throw new UpstreamError('unavailable', res.status);
  }

  private async table<T>(baseUrl: string, accessToken: string, pathAndQuery: string): Promise<T[]> {
    const res = await this.send(`${baseUrl}${pathAndQuery}`, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    });
    if (res.status === 429) throw new UpstreamError('rate_limited', 429, retryAfterSeconds(res.headers.get('retry-after')) ?? 5);
    if (res.status >= 500) throw new UpstreamError('unavailable', res.status);
    if (res.status === 401 || res.status === 403) throw new UpstreamError('unauthorized', res.status);
    const answer = (await res.json().catch(() => ({}))) as { result?: T[] };
    if (!res.ok || !Array.isArray(answer.result)) throw new UpstreamError('unavailable', res.status);
    return answer.result;
  }

  /** The user the access token belongs to (CONTRACT.md §5's exact query). */
  async currentUser(baseUrl: string, accessToken: string): Promise<ServiceNowUser> {
    const rows = await this.table<{ sys_id?: string; user_name?: string; name?: string }>(
      baseUrl,
      accessToken,
      '/api/now/table/sys_user?sysparm_query=sys_id%3Djavascript%3Ags.getUserID()&sysparm_fields=sys_id%2Cuser_name%2Cname&sysparm_limit=1',
    );
    const row = rows[0];
    if (!row?.sys_id || !/^[0-9a-f]{32}$/.test(row.sys_id)) throw new UpstreamError('unauthorized', 200);
    return { sysId: row.sys_id, userName: row.user_name ?? '', name: row.name ?? '' };
  }

  /** The sys_ids of the groups the user belongs to (sys_user_grmember). */
  async groupsOf(baseUrl: string, accessToken: string, userSysId: string): Promise<string[]> {
    const rows = await this.table<{ group?: string | { value?: string } }>(
      baseUrl,
      accessToken,
      `/api/now/table/sys_user_grmember?sysparm_query=user%3D${userSysId}&sysparm_fields=group&sysparm_exclude_reference_link=true&sysparm_limit=1000`,
    );
    return rows
      .map((r) => (typeof r.group === 'string' ? r.group : r.group?.value ?? ''))
      .filter((g) => /^[0-9a-f]{32}$/.test(g));
  }
}
