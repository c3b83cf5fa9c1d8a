import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { SecretClient } from '@azure/keyvault-secrets';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServiceNow, type DevServiceNow } from '../../dev/servicenow/instance.js';
import { LocalDevCredential } from '../../src/lib/azure/localDevCredential.js';
import { fixtureBytes } from '../support/fixtures.js';
import { connectClient } from '../support/realtime.js';
import { asUser, authorize, REDIRECT_URI, signIn } from '../support/signIn.js';
import { call, createInstance, postWebhook, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let sn: DevServiceNow;
let webhookSecret: string;
const A = 'acme-prod';
const BETH = '46d44a23a9fe19810012d100cca80666';
/** Every token and secret seen in this file: none may appear in any log line (the stack checks on close). */
let secrets: Set<string>;

function vault() {
  return new SecretClient(stack.keyVault.url, new LocalDevCredential(), { allowInsecureConnection: true, disableChallengeResourceVerification: true });
}

beforeAll(async () => {
  stack = await startTestStack({ TOKEN_RATE_LIMIT_PER_MINUTE: '200', SIGNIN_RATE_LIMIT_PER_MINUTE: '25' });
  secrets = stack.secrets;
  sn = await startDevServiceNow({ port: 0, clients: [{ clientId: 'flowquest-mobile' }, { clientId: 'confidential', clientSecret: 'client-secret-value' }] });
  webhookSecret = await createInstance(stack, A, { baseUrl: sn.url });
  secrets.add(webhookSecret).add('client-secret-value');
});

afterAll(async () => {
  await sn?.close();
  await stack?.close();
});

/** Runs a check 31 minutes on, when the access tokens issued so far (30 minutes) have expired. */
async function afterAccessTokenExpiry(check: () => Promise<void>, cleanUp?: () => void): Promise<void> {
  stack.clock.advance(31 * 60_000);
  try {
    await check();
  } finally {
    cleanUp?.();
    stack.clock.advance(-31 * 60_000);
  }
}

/** A token broker built from the same stores, as another Function instance has: no shared memory. */
async function anotherInstancesBroker() {
  const runtime = await stack.runtime();
  const { TokenBroker, leaseFor } = await import('../../src/lib/sessions/tokenBroker.js');
  return new TokenBroker({
    sessions: runtime.sessionStore, keys: runtime.sessionKeys, secrets: runtime.secrets, serviceNow: runtime.serviceNow,
    instances: runtime.instances, audit: runtime.audit, clock: stack.clock, leaseMs: leaseFor(10_000),
  });
}

function remember<T extends { sessionToken: string; accessToken: string }>(s: T): T {
  secrets.add(s.sessionToken).add(s.accessToken);
  return s;
}

describe('POST /api/sessions', () => {
  it('exchange mode: redeems the code, identifies the user, keeps the refresh token in Key Vault only', async () => {
    const before = sn.stats().codeGrants;
    const { code, codeVerifier, redirectUri } = await authorize(sn, 'beth.anglin');
    const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'iphone-15', code, codeVerifier, redirectUri } });
    expect(res.status).toBe(201);
    expect(sn.stats().codeGrants).toBe(before + 1);
    expect(res.body).toMatchObject({ user: { sysId: BETH, userName: 'beth.anglin', name: 'Beth Anglin' } });
    expect(res.body.sessionExpiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(res.body.sessionExpiresAt) - Date.now()).toBeGreaterThan(29 * 24 * 3_600_000);
    expect(Date.parse(res.body.accessTokenExpiresAt) - Date.now()).toBeGreaterThan(25 * 60_000);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'accessTokenExpiresAt', 'sessionExpiresAt', 'sessionToken', 'user']);
    const [header, payload] = (res.body.sessionToken as string).split('.').slice(0, 2).map((p: string) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ iss: 'flowquest-bridge', aud: 'flowquest-mobile', sub: `${A}:${BETH}` });
    expect(payload.sid).toMatch(/^[0-9a-f]{32}$/);
    expect(payload.exp - payload.iat).toBe(30 * 24 * 3600);
    remember(res.body);

    const runtime = await stack.runtime();
    const [session] = (await runtime.tables.sessions.listEntities<{ refreshSecretName: string; deviceId: string }>({ queryOptions: { filter: `deviceId eq 'iphone-15'` } }).byPage().next()).value;
    const stored = await vault().getSecret(session.refreshSecretName);
    expect(stored.value).toBeTruthy();
    secrets.add(stored.value!);
    expect(stored.properties.tags).toMatchObject({ instanceId: A, userSysId: BETH, purpose: 'refresh-token' });
    expect(JSON.stringify(res.body)).not.toContain(stored.value);
  });

  it('gives the refresh-token secret an expiry when ServiceNow says how long the token lives', async () => {
    const issued = sn.issueTokens('flowquest-mobile', BETH);
    secrets.add(issued.refreshToken).add(issued.accessToken);
    sn.injectFault('token', { status: 200, body: { access_token: issued.accessToken, refresh_token: issued.refreshToken, expires_in: 1800, refresh_token_expires_in: 8_640_000, token_type: 'Bearer' } });
    const { code, codeVerifier, redirectUri } = await authorize(sn, 'beth.anglin');
    const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'expiring', code, codeVerifier, redirectUri } });
    expect(res.status).toBe(201);
    remember(res.body);
    const runtime = await stack.runtime();
    const [session] = (await runtime.tables.sessions.listEntities<{ refreshSecretName: string }>({ queryOptions: { filter: `deviceId eq 'expiring'` } }).byPage().next()).value;
    const stored = await vault().getSecret(session.refreshSecretName);
    const days = (stored.properties.expiresOn!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(99.9);
    expect(days).toBeLessThan(100.1);
  });

  it('store mode: the app hands over its tokens', async () => {
    const issued = sn.issueTokens('flowquest-mobile', BETH);
    secrets.add(issued.refreshToken).add(issued.accessToken);
    const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'ipad', accessToken: issued.accessToken, refreshToken: issued.refreshToken, expiresIn: issued.expiresIn } });
    expect(res.status).toBe(201);
    expect(res.body.accessToken).toBe(issued.accessToken);
    expect(res.body.user.sysId).toBe(BETH);
    remember(res.body);
  });

  it('401 AUTH_FAILED when ServiceNow rejects the code or the access token', async () => {
    const { codeVerifier } = await authorize(sn, 'beth.anglin');
    const bad = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'd', code: 'not-a-code', codeVerifier, redirectUri: REDIRECT_URI } });
    expect([bad.status, bad.body.code]).toEqual([401, 'AUTH_FAILED']);
    const wrongVerifier = await authorize(sn, 'beth.anglin');
    const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'd', code: wrongVerifier.code, codeVerifier: randomBytes(32).toString('base64url'), redirectUri: REDIRECT_URI } });
    expect(res.body.code).toBe('AUTH_FAILED');
    const store = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'd', accessToken: 'forged', refreshToken: 'forged' } });
    expect([store.status, store.body.code]).toEqual([401, 'AUTH_FAILED']);
  });

  it('404 UNKNOWN_INSTANCE, 422 INVALID_REQUEST', async () => {
    const unknown = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: 'nowhere', deviceId: 'd', accessToken: 'a', refreshToken: 'r' } });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'UNKNOWN_INSTANCE']);
    for (const body of [{}, { instanceId: A, deviceId: 'd' }, { instanceId: A, deviceId: 'd', code: 'c', codeVerifier: 'short', redirectUri: 'x' }, { instanceId: A, deviceId: 'd', accessToken: 'a', refreshToken: 'r', code: 'c' }]) {
      const res = await call(stack, 'sessions', { method: 'POST', key: null, body });
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([422, 'INVALID_REQUEST']);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
  });

  it('503 UPSTREAM_UNAVAILABLE when ServiceNow fails', async () => {
    const { code, codeVerifier } = await authorize(sn, 'beth.anglin');
    sn.injectFault('token', { status: 503 });
    const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: A, deviceId: 'd', code, codeVerifier, redirectUri: REDIRECT_URI } });
    expect([res.status, res.body.code]).toEqual([503, 'UPSTREAM_UNAVAILABLE']);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('uses the instance client secret from Key Vault for confidential clients', async () => {
    await createInstance(stack, 'acme-conf', { baseUrl: sn.url, clientId: 'confidential', clientSecret: 'client-secret-value' });
    const { code, codeVerifier } = await authorize(sn, 'david.loo', 'confidential');
    const res = await call(stack, 'sessions', { method: 'POST', key: null, body: { instanceId: 'acme-conf', deviceId: 'd', code, codeVerifier, redirectUri: REDIRECT_URI } });
    expect(res.status).toBe(201);
    remember(res.body);
    // The refresh grant carries the client secret too (the development instance refuses it otherwise).
    await afterAccessTokenExpiry(async () => {
      const token = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(res.body.sessionToken) });
      expect(token.status).toBe(200);
      secrets.add(token.body.accessToken);
      expect(token.body.accessToken).not.toBe(res.body.accessToken);
    });
  });
});

describe('POST /api/sessions/current/token', () => {
  it('returns the stored token while it has ≥ 5 minutes left, then refreshes', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const first = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
    expect(first.status).toBe(200);
    expect(first.body.accessToken).toBe(s.accessToken);
    const refreshes = sn.stats().refreshGrants;
    stack.clock.advance(26 * 60_000);
    try {
      const second = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect(second.status).toBe(200);
      secrets.add(second.body.accessToken);
      expect(second.body.accessToken).not.toBe(s.accessToken);
      expect(Date.parse(second.body.expiresAt) - stack.clock.now()).toBeGreaterThan(5 * 60_000);
      expect(sn.stats().refreshGrants).toBe(refreshes + 1);
    } finally {
      stack.clock.advance(-26 * 60_000);
    }
  });

  it('50 concurrent calls on an expired access token make one upstream refresh and get one answer', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const refreshes = sn.stats().refreshGrants;
    sn.setTokenLatency(150);
    await afterAccessTokenExpiry(async () => {
      const answers = await Promise.all(Array.from({ length: 50 }, () => call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) })));
      expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
      expect(new Set(answers.map((a) => a.body.accessToken)).size).toBe(1);
      secrets.add(answers[0]!.body.accessToken);
      expect(sn.stats().refreshGrants - refreshes).toBe(1);
    }, () => {
      sn.setTokenLatency(0);
    });
  });

  it('two Function instances refreshing one session at once make one upstream refresh (the lease)', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const runtime = await stack.runtime();
    sn.setTokenLatency(300);
    await afterAccessTokenExpiry(async () => {
      const session = await runtime.sessions.authenticate(`Bearer ${s.sessionToken}`);
      const refreshes = sn.stats().refreshGrants;
      // Separate brokers share nothing in memory, as two instances would not: only the table's lease.
      const [a, b] = await Promise.all([(await anotherInstancesBroker()).accessToken(session), (await anotherInstancesBroker()).accessToken(session)]);
      secrets.add(a.accessToken);
      expect(a.accessToken).toBe(b.accessToken);
      expect(sn.stats().refreshGrants - refreshes).toBe(1);
    }, () => sn.setTokenLatency(0));
  });

  it('a session refreshed by another Function instance is not refreshed again (the row is read before the lease)', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    await afterAccessTokenExpiry(async () => {
      const one = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      secrets.add(one.body.accessToken);
      const refreshes = sn.stats().refreshGrants;
      // A second broker (another instance's memory) reads the refreshed token from the table.
      const runtime = await stack.runtime();
      const other = await anotherInstancesBroker();
      const session = await runtime.sessions.authenticate(`Bearer ${s.sessionToken}`);
      expect((await other.accessToken(session)).accessToken).toBe(one.body.accessToken);
      expect(sn.stats().refreshGrants).toBe(refreshes);
    });
  });

  it('invalid_grant → 401 REAUTH_REQUIRED at once, and no further upstream call', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    await afterAccessTokenExpiry(async () => {
      sn.injectFault('token', { invalidGrant: true });
      const res = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect([res.status, res.body.code]).toEqual([401, 'REAUTH_REQUIRED']);
      const calls = sn.stats().tokenRequests;
      const again = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect(again.body.code).toBe('REAUTH_REQUIRED');
      expect((await call(stack, 'realtime/negotiate', asUser(s.sessionToken))).body.code).toBe('REAUTH_REQUIRED');
      expect(sn.stats().tokenRequests).toBe(calls);
      // Such a session can still sign out, which removes its secret.
      expect((await call(stack, 'sessions/current', { method: 'DELETE', ...asUser(s.sessionToken) })).status).toBe(204);
    });
  });

  it('ServiceNow\'s own answer for a dead refresh token (401 access_denied) also means REAUTH_REQUIRED', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    await afterAccessTokenExpiry(async () => {
      sn.injectFault('token', { status: 401, body: { error_description: 'access_denied', error: 'server_error' } });
      const res = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect([res.status, res.body.code]).toEqual([401, 'REAUTH_REQUIRED']);
    });
  });

  it('5xx → bounded retries, then 503 UPSTREAM_UNAVAILABLE with Retry-After; the session still works later', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    await afterAccessTokenExpiry(async () => {
      const calls = sn.stats().tokenRequests;
      sn.injectFault('token', { status: 502 }, 3);
      const res = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect([res.status, res.body.code]).toEqual([503, 'UPSTREAM_UNAVAILABLE']);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(sn.stats().tokenRequests - calls).toBe(3);
      const later = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect(later.status).toBe(200);
      secrets.add(later.body.accessToken);
    });
  });

  it('ServiceNow 429 → 503 with its Retry-After, no retry storm', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    await afterAccessTokenExpiry(async () => {
      const calls = sn.stats().tokenRequests;
      sn.injectFault('token', { status: 429, retryAfter: 7 });
      const res = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect([res.status, res.body.code, res.headers.get('retry-after')]).toEqual([503, 'UPSTREAM_UNAVAILABLE', '7']);
      expect(sn.stats().tokenRequests - calls).toBe(1);
    });
  });

  it('429 RATE_LIMITED per session with Retry-After', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    let last;
    for (let i = 0; i < 201; i++) last = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
    expect([last!.status, last!.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('a deleted instance', () => {
  it('ends the sessions of its users', async () => {
    await createInstance(stack, 'acme-gone', { baseUrl: sn.url });
    const s = remember(await signIn(stack, sn, 'acme-gone', 'beth.anglin'));
    expect((await call(stack, 'admin/instances/acme-gone', { method: 'DELETE' })).status).toBe(204);
    await afterAccessTokenExpiry(async () => {
      const res = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) });
      expect([res.status, res.body.code]).toEqual([401, 'SESSION_INVALID']);
    });
  });
});

describe('session tokens', () => {
  async function signingKey(): Promise<{ key: Buffer; kid: string }> {
    const secret = await vault().getSecret('session-signing-key');
    return { key: Buffer.from(secret.value!, 'base64'), kid: secret.properties.version! };
  }

  it('forged, tampered, expired, wrong-audience, alg none, asymmetric and revoked tokens get 401 SESSION_INVALID', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const { key, kid } = await signingKey();
    const [header, payload, signature] = s.sessionToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const make = (overrides: Record<string, unknown>, k: Uint8Array = key) =>
      new SignJWT({ ...claims, ...overrides }).setProtectedHeader({ alg: 'HS256', kid }).sign(k);
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: `${A}:6816f79cc0a8016401c5a33be04be441` })).toString('base64url')}.${signature}`;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    const cases: Record<string, string> = {
      garbage: 'not.a.token',
      'other key': await make({}, randomBytes(32)),
      tampered,
      'alg none': none,
      'RS256 (algorithm confusion)': rs256,
      expired: await make({ iat: now - 40 * 86_400, exp: now - 10 }),
      'wrong audience': await make({ aud: 'someone-else' }),
      'wrong issuer': await make({ iss: 'evil' }),
      'unknown session': await make({ sid: createHash('md5').update('x').digest('hex') }),
    };
    for (const [label, token] of Object.entries(cases)) {
      const res = await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(token) });
      expect([res.status, res.body.code], label).toEqual([401, 'SESSION_INVALID']);
    }
    expect((await call(stack, 'sessions/current/token', { method: 'POST', key: null })).body.code).toBe('SESSION_INVALID');
  });
});

describe('sign-out and sessions of a user', () => {
  it('DELETE current revokes at ServiceNow, deletes the secret and ends the session', async () => {
    const s = remember(await signIn(stack, sn, A, 'david.loo', 'lost-phone'));
    const revocations = sn.stats().revocations;
    const runtime = await stack.runtime();
    const session = await runtime.sessions.authenticate(`Bearer ${s.sessionToken}`);
    const res = await call(stack, 'sessions/current', { method: 'DELETE', ...asUser(s.sessionToken) });
    expect(res.status).toBe(204);
    expect(sn.stats().revocations).toBe(revocations + 1);
    await expect(vault().getSecret(session.refreshSecretName)).rejects.toMatchObject({ statusCode: 404 });
    expect((await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(s.sessionToken) })).body.code).toBe('SESSION_INVALID');
  });

  it('lists the user\'s sessions and ends another one (a lost phone); 404 for a sid that is not the user\'s', async () => {
    const phone = remember(await signIn(stack, sn, A, 'fred.luddy', 'phone'));
    const tablet = remember(await signIn(stack, sn, A, 'fred.luddy', 'tablet'));
    const other = remember(await signIn(stack, sn, A, 'beth.anglin', 'beths'));
    const list = await call(stack, 'sessions', asUser(tablet.sessionToken));
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: any) => [i.deviceId, i.current]).sort()).toEqual([['phone', false], ['tablet', true]]);
    for (const item of list.body.items) {
      expect(Object.keys(item).sort()).toEqual(['createdAt', 'current', 'deviceId', 'lastUsedAt', 'sid']);
      expect(item.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(item.lastUsedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
    const phoneSid = list.body.items.find((i: any) => i.deviceId === 'phone').sid;
    const bethSid = (await call(stack, 'sessions', asUser(other.sessionToken))).body.items.find((i: any) => i.current).sid;
    const cross = await call(stack, `sessions/${bethSid}`, { method: 'DELETE', ...asUser(tablet.sessionToken) });
    expect([cross.status, cross.body.code]).toEqual([404, 'SESSION_NOT_FOUND']);
    expect((await call(stack, `sessions/${phoneSid}`, { method: 'DELETE', ...asUser(tablet.sessionToken) })).status).toBe(204);
    expect((await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(phone.sessionToken) })).body.code).toBe('SESSION_INVALID');
    expect((await call(stack, 'sessions/current/token', { method: 'POST', ...asUser(other.sessionToken) })).status).toBe(200);
    expect((await call(stack, `sessions/${'0'.repeat(32)}`, { method: 'DELETE', ...asUser(tablet.sessionToken) })).body.code).toBe('SESSION_NOT_FOUND');
  });
});

describe('real time, preferences and inbox', () => {
  it('negotiate gives a receive-only client URL in the user\'s ServiceNow groups and the critical group', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const res = await call(stack, 'realtime/negotiate', asUser(s.sessionToken));
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(`${A}:${BETH}`);
    expect(res.body.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(res.body.expiresAt) - stack.clock.now()).toBeGreaterThan(55 * 60_000);
    expect(res.body.groups.sort()).toEqual([`${A}:critical`, `${A}:group:287ebd7da9fe198100f92cc8d1d2154e`, `${A}:group:8a4dde73c6112278017a6a4baf547aa7`]);
    const claims = JSON.parse(Buffer.from(new URL(res.body.url).searchParams.get('access_token')!.split('.')[1]!, 'base64url').toString());
    expect(claims.role ?? []).toEqual([]);
  });

  it('preferences: defaults, partial update, 422, and criticalIncidents keeps the user out of the critical group', async () => {
    const s = remember(await signIn(stack, sn, A, 'david.loo'));
    const get = await call(stack, 'preferences', asUser(s.sessionToken));
    expect(get.body).toEqual({ incidentAssigned: true, approvalRequested: true, criticalIncidents: true, maxPriority: 5, mutedUntil: null });
    const put = await call(stack, 'preferences', { method: 'PUT', body: { criticalIncidents: false, maxPriority: 3, mutedUntil: '2026-11-22T11:30:00.250+02:00' }, ...asUser(s.sessionToken) });
    expect(put.body).toEqual({ criticalIncidents: false, maxPriority: 3, incidentAssigned: true, approvalRequested: true, mutedUntil: '2026-11-22T09:30:00Z' });
    expect((await call(stack, 'preferences', asUser(s.sessionToken))).body.mutedUntil).toBe('2026-11-22T09:30:00Z');
    await call(stack, 'preferences', { method: 'PUT', body: { mutedUntil: null }, ...asUser(s.sessionToken) });
    const bad = await call(stack, 'preferences', { method: 'PUT', body: { maxPriority: 9, colour: 'red' }, ...asUser(s.sessionToken) });
    expect([bad.status, bad.body.code]).toEqual([422, 'INVALID_REQUEST']);
    expect(bad.body.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(['maxPriority']));
    const negotiated = await call(stack, 'realtime/negotiate', asUser(s.sessionToken));
    expect(negotiated.body.groups).not.toContain(`${A}:critical`);
  });

  it('the inbox returns the user\'s messages oldest first, with a cursor; a session never sees another instance\'s data', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const otherSecret = await createInstance(stack, 'acme-other', { baseUrl: sn.url });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await postWebhook(stack, A, webhookSecret, fixtureBytes('incident-p1-inserted-assigned.json'))).id);
    const foreign = await postWebhook(stack, 'acme-other', otherSecret, fixtureBytes('incident-p1-inserted-assigned.json'));
    await (await stack.runtime()).delivery.flush();
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await call(stack, `notifications?limit=2${after ? `&after=${after}` : ''}`, asUser(s.sessionToken));
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((m: any) => m.eventId));
      after = page.body.next;
    } while (after);
    expect(seen.slice(-3)).toEqual(ids);
    expect(seen).not.toContain(foreign.id);
    expect((await call(stack, 'notifications?limit=0', asUser(s.sessionToken))).body.code).toBe('INVALID_REQUEST');
    expect((await call(stack, 'notifications?limit=101', asUser(s.sessionToken))).body.code).toBe('INVALID_REQUEST');
    expect((await call(stack, 'notifications?after=garbage', asUser(s.sessionToken))).body.code).toBe('INVALID_REQUEST');
  });

  it('a negotiated client receives a P1 incident and cannot join other groups', async () => {
    const s = remember(await signIn(stack, sn, A, 'beth.anglin'));
    const negotiated = await call(stack, 'realtime/negotiate', asUser(s.sessionToken));
    const { WebPubSubClient } = await import('@azure/web-pubsub-client');
    const client = new WebPubSubClient(negotiated.body.url);
    const received: any[] = [];
    client.on('server-message', (e) => received.push(e.message.data));
    client.on('group-message', (e) => received.push(e.message.data));
    await client.start();
    try {
      const event = await postWebhook(stack, A, webhookSecret, fixtureBytes('incident-p1-inserted-assigned.json'));
      const deadline = Date.now() + 5000;
      while (received.filter((m) => m.eventId === event.id).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received.filter((m) => m.eventId === event.id).map((m) => m.kind).sort()).toEqual(['incident.assigned', 'incident.critical', 'incident.critical']);
      await expect(client.joinGroup(`${A}:group:d625dccec0a8016700a222a0f7900d06`)).rejects.toBeDefined();
    } finally {
      client.stop();
    }
    void connectClient;
  });
});

describe('audit', () => {
  it('records sign-in, refresh failure, sign-out and instance changes without secrets', async () => {
    const runtime = await stack.runtime();
    const entries = await runtime.audit.list(A, 1000);
    const actions = new Set(entries.map((e) => `${e.action}:${e.outcome}`));
    for (const expected of ['instance.create:success', 'session.signin:success', 'session.signin:failure', 'session.refresh:failure', 'session.signout:success']) {
      expect(actions, expected).toContain(expected);
    }
    const text = JSON.stringify(entries);
    for (const secret of secrets) expect(text.includes(secret)).toBe(false);
  });
});
