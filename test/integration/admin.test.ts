import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDevCredential } from '../../src/lib/azure/localDevCredential.js';
import { sendJson, serviceNowLike, startFakeServer, type FakeServer } from '../support/fakeServiceNow.js';
import { call, createInstance, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
const servers: FakeServer[] = [];

beforeAll(async () => {
  stack = await startTestStack({ CONNECTION_TEST_TIMEOUT_MS: '300' });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await stack?.close();
});

const body = (extra: Record<string, unknown> = {}) => ({ name: 'Acme production', baseUrl: 'https://acme.service-now.com/', clientId: 'flowquest-mobile', ...extra });

async function vaultHas(name: string): Promise<boolean> {
  const client = new SecretClient(stack.keyVault.url, new LocalDevCredential(), { allowInsecureConnection: true, disableChallengeResourceVerification: true });
  try {
    await client.getSecret(name);
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

describe('function key', () => {
  it('protects every admin route (401 without or with a wrong key)', async () => {
    for (const [method, route] of [
      ['PUT', 'admin/instances/acme'],
      ['GET', 'admin/instances/acme'],
      ['DELETE', 'admin/instances/acme'],
      ['POST', 'admin/instances/acme/webhook-secret/rotate'],
      ['POST', 'admin/instances/acme/test'],
      ['GET', 'admin/deadletters'],
      ['POST', 'admin/deadletters/dl_x/replay'],
    ] as const) {
      const payload = method === 'GET' ? {} : { body: body() };
      expect((await call(stack, route, { method, key: null, ...payload })).status, `${method} ${route}`).toBe(401);
      expect((await call(stack, route, { method, key: 'wrong', ...payload })).status, `${method} ${route}`).toBe(401);
    }
  });

  it('also accepts the key as the code query parameter', async () => {
    const res = await fetch(`${stack.url}/api/admin/deadletters?code=test-function-key`);
    expect(res.status).toBe(200);
  });
});

describe('instances', () => {
  it('creates (201, secret shown once), reads without secrets, updates (200), deletes (204) with its secrets', async () => {
    const created = await call(stack, 'admin/instances/acme-crud', { method: 'PUT', body: body({ clientSecret: 'top-secret-client' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body.instance).toMatchObject({ id: 'acme-crud', name: 'Acme production', baseUrl: 'https://acme.service-now.com', clientId: 'flowquest-mobile', hasClientSecret: true, rules: null });
    expect(created.body.instance.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    const read = await call(stack, 'admin/instances/acme-crud');
    expect(read.status).toBe(200);
    expect(read.body.instance.id).toBe('acme-crud');
    const text = JSON.stringify(read.body);
    expect(text).not.toContain('whsec_');
    expect(text).not.toContain('top-secret-client');

    const updated = await call(stack, 'admin/instances/acme-crud', { method: 'PUT', body: body({ name: 'Acme' }) });
    expect(updated.status).toBe(200);
    expect(updated.body).not.toHaveProperty('webhookSecret');
    expect(updated.body.instance).toMatchObject({ name: 'Acme', hasClientSecret: true });

    const runtime = await stack.runtime();
    const stored = await runtime.instances.get('acme-crud');
    expect(await vaultHas(stored.webhookSecret.name)).toBe(true);
    expect(await vaultHas(stored.clientSecret!.name)).toBe(true);

    expect((await call(stack, 'admin/instances/acme-crud', { method: 'DELETE' })).status).toBe(204);
    expect((await call(stack, 'admin/instances/acme-crud')).body.code).toBe('UNKNOWN_INSTANCE');
    expect(await vaultHas(stored.webhookSecret.name)).toBe(false);
    expect(await vaultHas(stored.clientSecret!.name)).toBe(false);
    expect((await call(stack, 'admin/instances/acme-crud', { method: 'DELETE' })).status).toBe(404);
  });

  it('can be created again after deletion (secret names do not collide with soft-deleted ones)', async () => {
    await createInstance(stack, 'acme-again');
    expect((await call(stack, 'admin/instances/acme-again', { method: 'DELETE' })).status).toBe(204);
    expect((await call(stack, 'admin/instances/acme-again', { method: 'PUT', body: body() })).status).toBe(201);
  });

  it.each([
    ['http to a public host', { baseUrl: 'http://acme.service-now.com' }, 'baseUrl'],
    ['credentials in the URL', { baseUrl: 'https://user:pw@acme.service-now.com' }, 'baseUrl'],
    ['a query', { baseUrl: 'https://acme.service-now.com/?x=1' }, 'baseUrl'],
    ['a fragment', { baseUrl: 'https://acme.service-now.com/#x' }, 'baseUrl'],
    ['no client id', { clientId: '' }, 'clientId'],
    ['an unknown field', { colour: 'blue' }, '(root)'],
    ['a bad rule', { rules: [{ kind: 'x', table: 'incident', recipients: [] }] }, 'rules[0].kind'],
  ])('422 INVALID_REQUEST for %s', async (_label, patch, path) => {
    const res = await call(stack, 'admin/instances/acme-invalid', { method: 'PUT', body: body(patch) });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('INVALID_REQUEST');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await call(stack, 'admin/instances/acme-invalid')).status).toBe(404);
  });

  it('422 for an invalid instance id and 400 for a body that is not JSON', async () => {
    expect((await call(stack, 'admin/instances/Acme_Prod', { method: 'PUT', body: body() })).body.code).toBe('INVALID_REQUEST');
    const res = await fetch(`${stack.url}/api/admin/instances/acme-json`, { method: 'PUT', headers: { 'x-functions-key': 'test-function-key', 'content-type': 'application/json' }, body: '{nope' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('INVALID_JSON');
  });

  it('rotation of an unknown instance is a 404', async () => {
    expect((await call(stack, 'admin/instances/nobody-here/webhook-secret/rotate', { method: 'POST' })).body.code).toBe('UNKNOWN_INSTANCE');
  });

  it('lists instances publicly with their OAuth endpoints and nothing secret', async () => {
    await createInstance(stack, 'acme-public', { clientSecret: 'another-secret' });
    const res = await call(stack, 'instances', { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toContainEqual({
      id: 'acme-public',
      name: 'Instance acme-public',
      baseUrl: 'https://acme-public.service-now.com',
      clientId: 'flowquest-mobile',
      authorizeUrl: 'https://acme-public.service-now.com/oauth_auth.do',
      tokenUrl: 'https://acme-public.service-now.com/oauth_token.do',
    });
    expect(JSON.stringify(res.body)).not.toContain('another-secret');
  });
});

describe('connection test', () => {
  async function testWith(id: string, baseUrl: string, clientSecret?: string) {
    await call(stack, `admin/instances/${id}`, { method: 'PUT', body: body({ baseUrl, ...(clientSecret ? { clientSecret } : {}) }) });
    const res = await call(stack, `admin/instances/${id}/test`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(typeof res.body.latencyMs).toBe('number');
    expect(typeof res.body.message).toBe('string');
    return res.body as { status: string; code?: string };
  }

  it('succeeds against a ServiceNow-like instance that accepts the client', async () => {
    const sn = await startFakeServer(serviceNowLike((form) => (form.get('client_secret') === 'good' ? [200, { access_token: 'x', expires_in: 1800 }] : [401, { error: 'invalid_client' }])));
    servers.push(sn);
    expect(await testWith('conn-ok', sn.url, 'good')).toMatchObject({ status: 'success' });
    expect(sn.requests.find((r) => r.path === '/oauth_token.do')?.body).toContain('grant_type=client_credentials');
    expect(await testWith('conn-public', sn.url)).toMatchObject({ status: 'success' });
  });

  it('AUTH_FAILED when ServiceNow rejects the client', async () => {
    const sn = await startFakeServer(serviceNowLike(() => [401, { error: 'invalid_client', error_description: 'bad' }]));
    servers.push(sn);
    expect(await testWith('conn-auth', sn.url, 'bad')).toMatchObject({ status: 'failure', code: 'AUTH_FAILED' });
  });

  it('NOT_SERVICENOW for another web server', async () => {
    const web = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>hello</html>');
    });
    servers.push(web);
    expect(await testWith('conn-web', web.url)).toMatchObject({ status: 'failure', code: 'NOT_SERVICENOW' });
  });

  it('RATE_LIMITED when ServiceNow answers 429', async () => {
    const busy = await startFakeServer((_req, res) => sendJson(res, 429, { error: { message: 'Too many requests' } }));
    servers.push(busy);
    expect(await testWith('conn-busy', busy.url)).toMatchObject({ status: 'failure', code: 'RATE_LIMITED' });
  });

  it('CONNECTION_TIMEOUT when nothing answers in time', async () => {
    const silent = await startFakeServer(() => undefined);
    servers.push(silent);
    expect(await testWith('conn-silent', silent.url)).toMatchObject({ status: 'failure', code: 'CONNECTION_TIMEOUT' });
  });

  it('TLS_ERROR for an untrusted certificate', async () => {
    const tls = await startFakeServer(serviceNowLike(() => [200, {}]), { tls: true });
    servers.push(tls);
    expect(await testWith('conn-tls', tls.url)).toMatchObject({ status: 'failure', code: 'TLS_ERROR' });
  });

  it('INVALID_URL for a host that does not resolve', async () => {
    expect(await testWith('conn-dns', 'https://no-such-host.invalid')).toMatchObject({ status: 'failure', code: 'INVALID_URL' });
  });
});

describe('health', () => {
  it('reports ok with every check and the version', async () => {
    const res = await call(stack, 'health', { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { tables: 'ok', keyVault: 'ok', webPubSub: 'ok' }, version: '0.1.0' });
  });
});
