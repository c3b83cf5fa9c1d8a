/**
 * The local Key Vault emulator, driven only by the real SecretClient from
 * @azure/keyvault-secrets (plus LocalDevCredential), and plain fetch for the raw
 * authentication challenge. Each emulator listens on an ephemeral port.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type KeyVaultEmulator, startKeyVaultEmulator } from '../../dev/keyvault/emulator.js';
import { LocalDevCredential } from '../../src/lib/azure/localDevCredential.js';

const EXPECTED_CHALLENGE =
  'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"';

function clientFor(emulator: KeyVaultEmulator): SecretClient {
  return new SecretClient(emulator.url, new LocalDevCredential(), {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
  });
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let counter = 0;
/** Unique, valid secret names so tests in this file never collide. */
function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

interface CaughtRestError {
  name: string;
  statusCode?: number;
  code?: string;
  message: string;
}

/** Runs `action`, expects it to fail with a RestError, and returns what the caller sees. */
async function restErrorOf(action: () => Promise<unknown>): Promise<CaughtRestError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    const e = error as CaughtRestError;
    expect(e.name).toBe('RestError');
    return e;
  }
  throw new Error('expected the call to fail');
}

/** Captures the JSON body of the (first) raw response an SDK call received. */
function captureBody(): { onResponse: (raw: { bodyAsText?: string | null }) => void; json: () => Record<string, unknown> } {
  let text: string | null | undefined;
  return {
    onResponse: (raw) => {
      text ??= raw.bodyAsText;
    },
    json: () => JSON.parse(text ?? 'null') as Record<string, unknown>,
  };
}

const logLines: string[] = [];
let emulator: KeyVaultEmulator;
let client: SecretClient;

beforeAll(async () => {
  emulator = await startKeyVaultEmulator({ port: 0, log: (line) => logLines.push(line) });
  client = clientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
});

describe('LocalDevCredential', () => {
  it('returns a recognisably fake bearer token carrying the scopes, valid for one hour', async () => {
    const before = Date.now();
    const token = await new LocalDevCredential().getToken(['https://vault.azure.net/.default']);
    expect(token.tokenType).toBe('Bearer');
    expect(token.token.startsWith('local-dev.')).toBe(true);
    const claims = JSON.parse(Buffer.from(token.token.slice('local-dev.'.length), 'base64url').toString('utf8')) as {
      scp: string[];
      iat: number;
    };
    expect(claims.scp).toEqual(['https://vault.azure.net/.default']);
    expect(claims.iat).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(token.expiresOnTimestamp - before).toBeGreaterThanOrEqual(60 * 60 * 1000 - 1000);
    expect(token.expiresOnTimestamp - before).toBeLessThanOrEqual(60 * 60 * 1000 + 1000);
  });
});

describe('Key Vault emulator: authentication', () => {
  it('answers a request without a token with 401 and the Key Vault challenge', async () => {
    const response = await fetch(`${emulator.url}/secrets/anything?api-version=7.5`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(EXPECTED_CHALLENGE);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('Unauthorized');
    expect(typeof body.error.message).toBe('string');
  });

  it('challenges a raw PUT with a body as well (the body is not processed)', async () => {
    const response = await fetch(`${emulator.url}/secrets/raw-put?api-version=7.5`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'not-stored' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(EXPECTED_CHALLENGE);
    await response.arrayBuffer();
    const error = await restErrorOf(() => client.getSecret('raw-put'));
    expect(error.statusCode).toBe(404);
  });
});

describe('Key Vault emulator: secrets', () => {
  it('sets new versions and gets the latest one or a specific one', async () => {
    const name = uniqueName('conn');
    const first = await client.setSecret(name, 'value-one');
    const second = await client.setSecret(name, 'value-two');

    expect(first.value).toBe('value-one');
    expect(first.name).toBe(name);
    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(first.properties.id).toBe(`${emulator.url}/secrets/${name}/${first.properties.version}`);
    expect(first.properties.vaultUrl).toBe(emulator.url);
    expect(first.properties.enabled).toBe(true);
    expect(first.properties.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(first.properties.recoverableDays).toBe(90);
    expect(first.properties.createdOn).toBeInstanceOf(Date);
    expect(first.properties.updatedOn).toBeInstanceOf(Date);

    const latest = await client.getSecret(name);
    expect(latest.value).toBe('value-two');
    expect(latest.properties.version).toBe(second.properties.version);

    const older = await client.getSecret(name, { version: first.properties.version! });
    expect(older.value).toBe('value-one');
    expect(older.properties.id).toBe(first.properties.id);
  });

  it('returns bundles shaped like the service: Unix-second attributes, no kid/managed', async () => {
    const name = uniqueName('shape');
    await client.setSecret(name, 'shape-value', { contentType: 'text/plain', tags: { team: 'flowquest' } });
    const raw = captureBody();
    const secret = await client.getSecret(name, { onResponse: raw.onResponse });
    const body = raw.json();
    expect(Object.keys(body).sort()).toEqual(['attributes', 'contentType', 'id', 'tags', 'value']);
    expect(body.id).toBe(secret.properties.id);
    const attributes = body.attributes as Record<string, unknown>;
    expect(Object.keys(attributes).sort()).toEqual(['created', 'enabled', 'recoverableDays', 'recoveryLevel', 'updated']);
    expect(Number.isInteger(attributes.created)).toBe(true);
    expect(Math.abs((attributes.created as number) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('matches names case-insensitively and keeps the original spelling', async () => {
    const name = uniqueName('MixedCase');
    await client.setSecret(name, 'case-value');
    const secret = await client.getSecret(name.toLowerCase());
    expect(secret.value).toBe('case-value');
    expect(secret.name).toBe(name);
  });

  it('round-trips tags, contentType, expiresOn and notBefore', async () => {
    const name = uniqueName('meta');
    const expiresOn = new Date(Date.UTC(2031, 0, 2, 3, 4, 5));
    const notBefore = new Date(Date.UTC(2024, 5, 6, 7, 8, 9));
    await client.setSecret(name, '{"k":"v"}', {
      contentType: 'application/json',
      tags: { env: 'local', owner: 'bridge' },
      expiresOn,
      notBefore,
    });
    const secret = await client.getSecret(name);
    expect(secret.value).toBe('{"k":"v"}');
    expect(secret.properties.contentType).toBe('application/json');
    expect(secret.properties.tags).toEqual({ env: 'local', owner: 'bridge' });
    expect(secret.properties.expiresOn?.toISOString()).toBe(expiresOn.toISOString());
    expect(secret.properties.notBefore?.toISOString()).toBe(notBefore.toISOString());
  });

  it('updates properties of a version and refuses to get a disabled secret with 403', async () => {
    const name = uniqueName('upd');
    const created = await client.setSecret(name, 'upd-value', { tags: { a: '1' } });
    const version = created.properties.version!;

    const updated = await client.updateSecretProperties(name, version, {
      enabled: false,
      tags: { b: '2' },
      contentType: 'text/plain',
    });
    expect(updated.enabled).toBe(false);
    expect(updated.tags).toEqual({ b: '2' });
    expect(updated.contentType).toBe('text/plain');
    expect(updated.version).toBe(version);

    const forbidden = await restErrorOf(() => client.getSecret(name));
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.code).toBe('Forbidden');

    await client.updateSecretProperties(name, version, { enabled: true });
    const again = await client.getSecret(name);
    expect(again.value).toBe('upd-value');
    expect(again.properties.tags).toEqual({ b: '2' });
  });

  it('answers 404 SecretNotFound for unknown secrets and versions', async () => {
    const missing = await restErrorOf(() => client.getSecret(uniqueName('missing')));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('SecretNotFound');

    const name = uniqueName('ver');
    await client.setSecret(name, 'v');
    const badVersion = await restErrorOf(() => client.getSecret(name, { version: '0'.repeat(32) }));
    expect(badVersion.statusCode).toBe(404);
    expect(badVersion.code).toBe('SecretNotFound');
  });

  it('rejects invalid names with 400 BadParameter', async () => {
    const onSet = await restErrorOf(() => client.setSecret('bad_name', 'x'));
    expect(onSet.statusCode).toBe(400);
    expect(onSet.code).toBe('BadParameter');

    const onGet = await restErrorOf(() => client.getSecret('bad.name'));
    expect(onGet.statusCode).toBe(400);
    expect(onGet.code).toBe('BadParameter');

    const tooLong = await restErrorOf(() => client.setSecret('a'.repeat(128), 'x'));
    expect(tooLong.statusCode).toBe(400);
  });

  it('lists 30 versions over several pages without values', async () => {
    const name = uniqueName('paged');
    const versions: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const secret = await client.setSecret(name, `value-${i}`);
      versions.push(secret.properties.version!);
    }

    const pages: string[][] = [];
    for await (const page of client.listPropertiesOfSecretVersions(name).byPage({ maxPageSize: 10 })) {
      pages.push(page.map((p) => p.version!));
      for (const properties of page) {
        expect(properties.name).toBe(name);
        expect(properties.id).toBe(`${emulator.url}/secrets/${name}/${properties.version}`);
      }
    }
    expect(pages.map((p) => p.length)).toEqual([10, 10, 10]);
    expect(pages.flat().sort()).toEqual([...versions].sort());

    // Plain iteration follows nextLink with the default page size (25).
    const all: string[] = [];
    for await (const properties of client.listPropertiesOfSecretVersions(name)) all.push(properties.version!);
    expect(all.sort()).toEqual([...versions].sort());

    // Raw page: items carry no value, nextLink points back at the emulator.
    const raw = captureBody();
    const firstPage = client.listPropertiesOfSecretVersions(name, { onResponse: raw.onResponse }).byPage({ maxPageSize: 5 });
    await firstPage.next();
    const body = raw.json() as { value: Record<string, unknown>[]; nextLink: string | null };
    expect(body.value).toHaveLength(5);
    expect(body.nextLink).toMatch(new RegExp(`^${escapeRegExp(emulator.url)}/secrets/${name}/versions\\?api-version=[^&]+&\\$skiptoken=[\\w-]+&maxresults=5$`));
    for (const item of body.value) expect(item).not.toHaveProperty('value');
  });

  it('rejects a page size above 25 like the service', async () => {
    const error = await restErrorOf(async () => {
      for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 26 })) void page;
    });
    expect(error.statusCode).toBe(400);
  });

  it('lists secrets (latest properties, base ids) and leaves deleted ones out', async () => {
    const kept = uniqueName('listed');
    const gone = uniqueName('listed-gone');
    await client.setSecret(kept, 'k1', { tags: { n: '1' } });
    await client.setSecret(kept, 'k2', { tags: { n: '2' } });
    await client.setSecret(gone, 'g');
    await (await client.beginDeleteSecret(gone)).pollUntilDone();

    const listed = new Map<string, { id?: string; tags?: Record<string, string> }>();
    for await (const properties of client.listPropertiesOfSecrets()) listed.set(properties.name, properties);
    expect(listed.get(kept)?.tags).toEqual({ n: '2' });
    expect(listed.get(kept)?.id).toBe(`${emulator.url}/secrets/${kept}`);
    expect(listed.has(gone)).toBe(false);
  });
});

describe('Key Vault emulator: soft delete, recover, purge', () => {
  it('deletes, hides the secret, exposes it as deleted, and recovers it quickly', async () => {
    const name = uniqueName('del');
    const created = await client.setSecret(name, 'recover-me', { tags: { keep: 'yes' } });

    // The deletion is complete at once, so the poller never has to wait: with a 60 s poll interval a
    // second, waiting poll would run into the test's timeout instead of passing.
    const deleted = await (await client.beginDeleteSecret(name, { intervalInMs: 60_000 })).pollUntilDone();
    expect(deleted.name).toBe(name);
    expect(deleted.recoveryId).toBe(`${emulator.url}/deletedsecrets/${name}`);
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    expect(deleted.value).toBeUndefined();

    const notFound = await restErrorOf(() => client.getSecret(name));
    expect(notFound.statusCode).toBe(404);

    const fetched = await client.getDeletedSecret(name);
    expect(fetched.properties.version).toBe(created.properties.version);
    expect(fetched.properties.tags).toEqual({ keep: 'yes' });
    expect(fetched.recoveryId).toBe(`${emulator.url}/deletedsecrets/${name}`);
    const days = (fetched.scheduledPurgeDate!.getTime() - fetched.deletedOn!.getTime()) / 86_400_000;
    expect(days).toBe(90);

    const deletedNames: string[] = [];
    for await (const item of client.listDeletedSecrets()) deletedNames.push(item.name);
    expect(deletedNames).toContain(name);

    const recovered = await (await client.beginRecoverDeletedSecret(name, { intervalInMs: 60_000 })).pollUntilDone();
    expect(recovered.name).toBe(name);
    expect(recovered.version).toBe(created.properties.version);

    const back = await client.getSecret(name);
    expect(back.value).toBe('recover-me');
    expect(back.properties.tags).toEqual({ keep: 'yes' });
    const deletedAfter = await restErrorOf(() => client.getDeletedSecret(name));
    expect(deletedAfter.statusCode).toBe(404);
  });

  it('refuses to set a secret while it is deleted (409 Conflict)', async () => {
    const name = uniqueName('conflict');
    await client.setSecret(name, 'first');
    await (await client.beginDeleteSecret(name)).pollUntilDone();

    const conflict = await restErrorOf(() => client.setSecret(name, 'second'));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.code).toBe('Conflict');
    expect(conflict.message).toContain('deleted but recoverable');
  });

  it('purges a deleted secret so that its name can be reused', async () => {
    const name = uniqueName('purge');
    const original = await client.setSecret(name, 'old');
    await (await client.beginDeleteSecret(name)).pollUntilDone();
    await client.purgeDeletedSecret(name);

    const gone = await restErrorOf(() => client.getDeletedSecret(name));
    expect(gone.statusCode).toBe(404);

    const reused = await client.setSecret(name, 'new');
    expect(reused.properties.version).not.toBe(original.properties.version);
    expect((await client.getSecret(name)).value).toBe('new');
    const versions: string[] = [];
    for await (const properties of client.listPropertiesOfSecretVersions(name)) versions.push(properties.version!);
    expect(versions).toEqual([reused.properties.version]);
  });

  it('refuses purge with 403 when purge protection is on', async () => {
    const protectedVault = await startKeyVaultEmulator({ port: 0, purgeProtection: true });
    try {
      const protectedClient = clientFor(protectedVault);
      const name = uniqueName('protected');
      const created = await protectedClient.setSecret(name, 'p');
      expect(created.properties.recoveryLevel).toBe('Recoverable');
      await (await protectedClient.beginDeleteSecret(name)).pollUntilDone();

      const forbidden = await restErrorOf(() => protectedClient.purgeDeletedSecret(name));
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.code).toBe('Forbidden');
      expect((await protectedClient.getDeletedSecret(name)).name).toBe(name);
    } finally {
      await protectedVault.close();
    }
  });
});

describe('Key Vault emulator: persistence', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kv-emulator-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps secrets, versions and deleted state across a restart with the same dataFile', async () => {
    const dataFile = join(dir, 'nested', 'keyvault.json');
    const first = await startKeyVaultEmulator({ port: 0, dataFile });
    let kept: string;
    let firstVersion: string;
    try {
      const c = clientFor(first);
      firstVersion = (await c.setSecret('persisted', 'v1')).properties.version!;
      kept = (await c.setSecret('persisted', 'v2', { tags: { t: 'x' }, contentType: 'text/plain' })).properties.version!;
      await c.setSecret('persisted-deleted', 'd');
      await (await c.beginDeleteSecret('persisted-deleted')).pollUntilDone();
    } finally {
      await first.close();
    }
    expect((await readdir(join(dir, 'nested'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(await readFile(dataFile, 'utf8'))).toMatchObject({ kind: 'flowquest-keyvault-emulator' });

    const second = await startKeyVaultEmulator({ port: 0, dataFile });
    try {
      const c = clientFor(second);
      const latest = await c.getSecret('persisted');
      expect(latest.value).toBe('v2');
      expect(latest.properties.version).toBe(kept);
      expect(latest.properties.tags).toEqual({ t: 'x' });
      expect(latest.properties.contentType).toBe('text/plain');
      expect(latest.properties.id).toBe(`${second.url}/secrets/persisted/${kept}`);
      expect((await c.getSecret('persisted', { version: firstVersion })).value).toBe('v1');

      expect((await c.getDeletedSecret('persisted-deleted')).name).toBe('persisted-deleted');
      const conflict = await restErrorOf(() => c.setSecret('persisted-deleted', 'again'));
      expect(conflict.statusCode).toBe(409);
      const recovered = await (await c.beginRecoverDeletedSecret('persisted-deleted')).pollUntilDone();
      expect(recovered.name).toBe('persisted-deleted');
    } finally {
      await second.close();
    }

    const third = await startKeyVaultEmulator({ port: 0, dataFile });
    try {
      expect((await clientFor(third).getSecret('persisted-deleted')).value).toBe('d');
    } finally {
      await third.close();
    }
  });

  it('refuses to start on a corrupt dataFile instead of overwriting it', async () => {
    const dataFile = join(dir, 'corrupt.json');
    await writeFile(dataFile, '{not json');
    await expect(startKeyVaultEmulator({ port: 0, dataFile })).rejects.toThrow(/not valid JSON/);
    expect(await readFile(dataFile, 'utf8')).toBe('{not json');
  });
});

describe('Key Vault emulator: request log', () => {
  it('logs requests without secret values or tokens', async () => {
    const name = uniqueName('logged');
    await client.setSecret(name, 'very-secret-log-probe');
    await client.getSecret(name);
    expect(logLines).toContainEqual(expect.stringMatching(new RegExp(`^PUT /secrets/${name} 200 \\d+\\.\\dms$`)));
    expect(logLines).toContainEqual(expect.stringMatching(new RegExp(`^GET /secrets/${name}/ 200 `)));
    const all = logLines.join('\n');
    expect(all).not.toContain('very-secret-log-probe');
    expect(all).not.toContain('local-dev.');
  });
});
