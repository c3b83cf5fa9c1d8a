import type { Clock } from '../core/clock.js';
import type { Instance } from './instance.js';

export type ConnectionTestCode = 'INVALID_URL' | 'CONNECTION_TIMEOUT' | 'TLS_ERROR' | 'NOT_SERVICENOW' | 'AUTH_FAILED' | 'RATE_LIMITED';

export interface ConnectionTestResult {
  status: 'success' | 'failure';
  code?: ConnectionTestCode;
  latencyMs: number;
  message: string;
}

export interface ConnectionTestDeps {
  fetch: typeof fetch;
  clock: Clock;
  timeoutMs: number;
}

class TestFailure extends Error {
  constructor(
    readonly code: ConnectionTestCode,
    message: string,
  ) {
    super(message);
  }
}

/** Maps a fetch failure (undici puts the system error in `cause`) to the contract's codes. */
function networkFailure(error: unknown, timeoutMs: number): TestFailure {
  const e = error as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.cause?.name === 'ConnectTimeoutError') {
    return new TestFailure('CONNECTION_TIMEOUT', `No answer within ${timeoutMs} ms.`);
  }
  const code = e.cause?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new TestFailure('INVALID_URL', 'The host name does not resolve.');
  if (/CERT|SSL|TLS|SELF_SIGNED|ERR_TLS|EPROTO/.test(code)) {
    return new TestFailure('TLS_ERROR', 'The TLS handshake failed (certificate not trusted or protocol error).');
  }
  return new TestFailure('CONNECTION_TIMEOUT', `The connection failed (${code || 'no answer'}).`);
}

async function call(deps: ConnectionTestDeps, url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await deps.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(deps.timeoutMs) });
  } catch (error) {
    throw networkFailure(error, deps.timeoutMs);
  }
}

/**
 * Checks that the base URL is a reachable ServiceNow instance and that the OAuth client is known:
 * 1. the Table API without credentials must answer ServiceNow's JSON 401 ("User Not Authenticated");
 * 2. with a client secret, `oauth_token.do` with the client credentials grant must not answer
 *    `invalid_client` (an instance that has that grant disabled still recognises the client).
 */
export async function testConnection(
  instance: Instance,
  clientSecret: string | undefined,
  deps: ConnectionTestDeps,
): Promise<ConnectionTestResult> {
  const started = deps.clock.now();
  const done = (status: ConnectionTestResult['status'], message: string, code?: ConnectionTestCode): ConnectionTestResult => ({
    status,
    ...(code ? { code } : {}),
    latencyMs: Math.max(0, Math.round(deps.clock.now() - started)),
    message,
  });
  try {
    let base: URL;
    try {
      base = new URL(instance.baseUrl);
    } catch {
      throw new TestFailure('INVALID_URL', 'The base URL is not a URL.');
    }
    const probe = await call(deps, new URL('/api/now/table/sys_user?sysparm_limit=1', base).toString(), {
      headers: { accept: 'application/json' },
    });
    if (probe.status === 429) throw new TestFailure('RATE_LIMITED', 'ServiceNow is rate limiting this client.');
    const text = await probe.text();
    const looksLikeServiceNow = probe.status === 401 && /"error"\s*:\s*\{/.test(text) && /not authenticated|auth/i.test(text);
    if (!looksLikeServiceNow) {
      throw new TestFailure('NOT_SERVICENOW', `The Table API answered ${probe.status}, not ServiceNow's 401 JSON.`);
    }
    if (!clientSecret) {
      return done('success', 'ServiceNow answered; the OAuth client is public (PKCE), so its id is checked at sign-in.');
    }
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: instance.clientId, client_secret: clientSecret });
    const token = await call(deps, new URL('/oauth_token.do', base).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    if (token.status === 429) throw new TestFailure('RATE_LIMITED', 'ServiceNow is rate limiting this client.');
    const answer = (await token.json().catch(() => ({}))) as { error?: string; access_token?: string };
    if (token.ok && answer.access_token) return done('success', 'ServiceNow answered and accepted the OAuth client.');
    if (answer.error === 'invalid_client' || token.status === 401) {
      throw new TestFailure('AUTH_FAILED', 'ServiceNow does not accept this client id and secret.');
    }
    return done('success', 'ServiceNow answered and knows the OAuth client.');
  } catch (error) {
    if (error instanceof TestFailure) return done('failure', error.message, error.code);
    throw error;
  }
}
