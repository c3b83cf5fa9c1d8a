/**
 * Every setting the app reads (settingsSchema in src/lib/settings.ts) is written down in three places:
 * the Function App's app settings in the Bicep, local.settings.sample.json, and the README. A new
 * setting added to the schema fails here until all three know it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node } from 'web-tree-sitter';
import { settingsSchema } from '../../src/lib/settings.js';
import { functionAppSettings, literal, loadInfra, repoRoot } from './bicepTree.js';

// zod 4's .refine() returns the same ZodObject (zod 3 wrapped it in ZodEffects), so its shape holds every key.
const shape = settingsSchema.shape;
const KEYS = Object.keys(shape) as (keyof typeof shape)[];

/**
 * Local only: the connection strings of Azurite and the Web PubSub emulator, the alternatives to
 * TABLES_ENDPOINT and WEBPUBSUB_ENDPOINT. In Azure the identity is used, so they must not be set there.
 */
const LOCAL_ONLY: readonly string[] = ['TABLES_CONNECTION_STRING', 'WEBPUBSUB_CONNECTION_STRING'];

/**
 * Azure only: the endpoints used with the managed identity, and that identity's client id. Locally the
 * connection strings above and the developer's own sign-in take their place.
 */
const AZURE_ONLY: readonly string[] = ['TABLES_ENDPOINT', 'WEBPUBSUB_ENDPOINT', 'AZURE_CLIENT_ID'];

let bicepSettings: Map<string, Node>;

beforeAll(async () => {
  bicepSettings = functionAppSettings(await loadInfra());
});

describe('settings.ts, the Bicep, the sample settings and the README agree', () => {
  it('the exceptions name real settings', () => {
    expect(KEYS.length).toBeGreaterThan(0);
    for (const key of [...LOCAL_ONLY, ...AZURE_ONLY]) expect(KEYS, key).toContain(key);
  });

  it('(a) every setting is in the Function App settings, except the local-only connection strings', () => {
    const missing = KEYS.filter((k) => !LOCAL_ONLY.includes(k) && !bicepSettings.has(k));
    expect(missing, 'missing from the appsettings of infra/app/api.bicep').toEqual([]);
    const forbidden = LOCAL_ONLY.filter((k) => bicepSettings.has(k));
    expect(forbidden, 'local-only settings set in Azure').toEqual([]);
  });

  it('(a) values fixed in the Bicep are valid, and the app\'s own defaults', () => {
    for (const key of KEYS) {
      const value = literal(bicepSettings.get(key));
      if (typeof value !== 'string') continue; // an expression: an endpoint, the prefix, the client id
      const schema = shape[key];
      const inAzure = schema.safeParse(value);
      expect(inAzure.success, `${key}='${value}' in the Bicep`).toBe(true);
      const byDefault = schema.safeParse(undefined);
      if (byDefault.success) expect(inAzure.data, `${key} in the Bicep vs settings.ts`).toEqual(byDefault.data);
    }
  });

  it('(b) every setting is in local.settings.sample.json, except the Azure-only ones', () => {
    const sample = JSON.parse(readFileSync(path.join(repoRoot, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    const missing = KEYS.filter((k) => !AZURE_ONLY.includes(k) && !(k in sample.Values));
    expect(missing, 'missing from local.settings.sample.json').toEqual([]);
  });

  it('(c) every setting is mentioned in README.md', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const missing = KEYS.filter((k) => !new RegExp(`\\b${k}\\b`).test(readme));
    expect(missing, 'missing from README.md').toEqual([]);
  });
});
