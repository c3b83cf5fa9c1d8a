/**
 * The Bicep under infra/, read with the tree-sitter Bicep grammar: it parses, it declares what the
 * bridge needs in Azure with the settings that keep it key-free, and its role assignments are the
 * built-in roles the app and a developer need, with deterministic names.
 * What this cannot see (tree-sitter knows syntax, not Azure's schemas): whether a property exists on a
 * resource type or an AVM module at that version. `bicep build` / `azd provision --preview` does that.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node } from 'web-tree-sitter';
import { TABLE_NAMES } from '../../src/lib/storage/tables.js';
import {
  callArguments,
  declarations,
  functionAppSettings,
  literal,
  loadInfra,
  outputs,
  parameters,
  property,
  repoRoot,
  resolveString,
  resourceType,
  stringValue,
  syntaxProblems,
  targetScope,
  variable,
  type BicepFile,
  type Declaration,
} from './bicepTree.js';

let files: BicepFile[];
let all: Declaration[];

beforeAll(async () => {
  files = await loadInfra();
  all = files.flatMap(declarations);
});

function file(rel: string): BicepFile {
  const found = files.find((f) => f.rel === rel);
  if (!found) throw new Error(`${rel} is missing`);
  return found;
}

/** New resources of a type, declared directly or through its Azure Verified Module (`avm/res/...`). */
function declared(type: string, avmModule?: string): Declaration[] {
  return all.filter((d) =>
    d.kind === 'resource'
      ? !d.existing && resourceType(d).toLowerCase() === type.toLowerCase()
      : avmModule !== undefined && d.target.startsWith(`br/public:${avmModule}:`),
  );
}

/** One setting: `resourcePath` in a resource body; in an AVM module, the same name under `params`. */
function setting(d: Declaration, resourcePath: string, avmPath = resourcePath.replace(/^properties\./, '')): Node | undefined {
  return d.kind === 'resource' ? property(d.body, resourcePath) : property(property(d.body, 'params'), avmPath);
}

const where = (d: Declaration) => `${d.file.rel} (${d.symbol})`;

describe('every .bicep file under infra/', () => {
  it('parses with no ERROR or MISSING node', () => {
    expect(files.map((f) => f.rel)).toEqual(
      expect.arrayContaining(['infra/main.bicep', 'infra/app/api.bicep', 'infra/app/rbac.bicep']),
    );
    // Each problem reads file:line:column; the grammar has no spread, `extension` or resourceInput<>.
    expect(files.flatMap(syntaxProblems)).toEqual([]);
  });

  it('refers to modules that exist, and pins every registry module to an exact version', () => {
    const modules = all.filter((d) => d.kind === 'module');
    expect(modules.length).toBeGreaterThan(0);
    for (const m of modules) {
      if (m.target.startsWith('br/') || m.target.startsWith('br:')) {
        expect(m.target, where(m)).toMatch(/^br\/public:avm\/(res|ptn|utl)\/[a-z0-9/-]+:\d+\.\d+\.\d+$/);
      } else {
        expect(existsSync(path.resolve(repoRoot, path.dirname(m.file.rel), m.target)), `${where(m)} → ${m.target}`).toBe(true);
      }
    }
  });

  it('never reads a key: no listKeys(), no connection string built from an account key', () => {
    for (const f of files) {
      expect(f.source, f.rel).not.toMatch(/listKeys\s*\(|listConnectionStrings\s*\(|AccountKey=/);
    }
  });
});

describe('infra/main.bicep', () => {
  it('is deployed at subscription scope and creates the resource group rg-<environment>', () => {
    const main = file('infra/main.bicep');
    expect(targetScope(main)).toBe('subscription');
    const groups = declarations(main).filter((d) => resourceType(d) === 'Microsoft.Resources/resourceGroups');
    expect(groups).toHaveLength(1);
    expect(property(groups[0]?.body, 'name')?.text).toBe("'rg-${environmentName}'");
  });

  it('gets its parameters from azd through main.parameters.json', () => {
    const json = JSON.parse(readFileSync(path.join(repoRoot, 'infra/main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: unknown }>;
    };
    const given = Object.fromEntries(Object.entries(json.parameters).map(([k, v]) => [k, v.value]));
    expect(given).toMatchObject({
      environmentName: '${AZURE_ENV_NAME}',
      location: '${AZURE_LOCATION}',
      principalId: '${AZURE_PRINCIPAL_ID}',
    });
    const declaredParams = parameters(file('infra/main.bicep'));
    for (const name of Object.keys(given)) expect(declaredParams.has(name), `${name} is not a parameter of main.bicep`).toBe(true);
    for (const [name, defaultValue] of declaredParams) {
      if (defaultValue === undefined) expect(given, `required parameter ${name}`).toHaveProperty(name);
    }
  });

  it('outputs what the app, azd and the docs refer to', () => {
    expect(outputs(file('infra/main.bicep'))).toEqual(
      expect.arrayContaining([
        'AZURE_RESOURCE_GROUP',
        'AZURE_FUNCTION_NAME',
        'AZURE_FUNCTION_URL',
        'AZURE_CLIENT_ID',
        'TABLES_ENDPOINT',
        'KEY_VAULT_URL',
        'WEBPUBSUB_ENDPOINT',
        'WEBPUBSUB_HUB',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
      ]),
    );
  });
});

describe('the resources', () => {
  it('a Linux Function App on the Flex Consumption plan (FC1), Node 22, deployed from blob storage with the identity', () => {
    const plans = declared('Microsoft.Web/serverfarms', 'avm/res/web/serverfarm').filter(
      (d) => literal(setting(d, 'sku.name')) === 'FC1' && literal(setting(d, 'sku.tier')) === 'FlexConsumption',
    );
    expect(plans, 'an FC1 / FlexConsumption plan').toHaveLength(1);
    const sites = declared('Microsoft.Web/sites', 'avm/res/web/site');
    expect(sites).toHaveLength(1);
    const site = sites[0] as Declaration;
    expect(literal(setting(site, 'kind'))).toBe('functionapp,linux');
    if (site.kind === 'resource') expect(setting(site, 'properties.serverFarmId')?.text).toBe(`${plans[0]?.symbol}.id`);
    const config = setting(site, 'properties.functionAppConfig');
    expect(literal(property(config, 'runtime.name'))).toBe('node');
    expect(literal(property(config, 'runtime.version'))).toBe('22');
    expect(literal(property(config, 'deployment.storage.type'))).toBe('blobContainer');
    expect(literal(property(config, 'deployment.storage.authentication.type'))).toBe('UserAssignedIdentity');
    expect(property(config, 'deployment.storage.authentication.userAssignedIdentityResourceId')).toBeDefined();
    expect(property(config, 'scaleAndConcurrency.instanceMemoryMB')).toBeDefined();
    expect(property(config, 'scaleAndConcurrency.maximumInstanceCount')).toBeDefined();
  });

  it('one user-assigned managed identity, the only identity of the Function App', () => {
    expect(declared('Microsoft.ManagedIdentity/userAssignedIdentities', 'avm/res/managed-identity/user-assigned-identity')).toHaveLength(1);
    const site = declared('Microsoft.Web/sites', 'avm/res/web/site')[0] as Declaration;
    if (site.kind === 'resource') {
      expect(literal(property(site.body, 'identity.type'))).toBe('UserAssigned');
    } else {
      expect(literal(setting(site, 'managedIdentities.systemAssigned'))).not.toBe(true);
    }
  });

  it('a storage account that refuses shared keys and anonymous blob access', () => {
    const accounts = declared('Microsoft.Storage/storageAccounts', 'avm/res/storage/storage-account');
    expect(accounts).toHaveLength(1);
    const account = accounts[0] as Declaration;
    expect(literal(setting(account, 'properties.allowSharedKeyAccess')), where(account)).toBe(false);
    expect(literal(setting(account, 'properties.allowBlobPublicAccess')), where(account)).toBe(false);
    expect(literal(setting(account, 'properties.minimumTlsVersion')), where(account)).toBe('TLS1_2');
  });

  it('the tables of src/lib/storage/tables.ts, with the TABLE_PREFIX in front', () => {
    expect(declared('Microsoft.Storage/storageAccounts/tableServices/tables').length).toBeGreaterThan(0);
    const main = file('infra/main.bicep');
    const suffixes = variable(main, 'tableSuffixes')?.namedChildren.map((n) => stringValue(n)) ?? [];
    expect([...suffixes].sort()).toEqual(Object.values(TABLE_NAMES).sort());
    const storageModule = declarations(main).find((d) => d.target === 'core/storage/storage-account.bicep');
    expect(property(property(storageModule?.body, 'params'), 'tableNames')?.text).toMatch(
      /for \w+ in tableSuffixes: '\$\{tablePrefix\}\$\{\w+\}'/,
    );
  });

  it('a Key Vault with Azure RBAC, soft delete and purge protection', () => {
    const vaults = declared('Microsoft.KeyVault/vaults', 'avm/res/key-vault/vault');
    expect(vaults).toHaveLength(1);
    const vault = vaults[0] as Declaration;
    expect(literal(setting(vault, 'properties.enableRbacAuthorization')), where(vault)).toBe(true);
    expect(literal(setting(vault, 'properties.enablePurgeProtection')), where(vault)).toBe(true);
    expect(literal(setting(vault, 'properties.enableSoftDelete')), where(vault)).not.toBe(false);
  });

  it('Azure Web PubSub with its hub, which refuses anonymous clients', () => {
    expect(declared('Microsoft.SignalRService/webPubSub', 'avm/res/signal-r-service/web-pub-sub')).toHaveLength(1);
    const hubs = declared('Microsoft.SignalRService/webPubSub/hubs');
    expect(hubs).toHaveLength(1);
    expect(String(literal(setting(hubs[0] as Declaration, 'properties.anonymousConnectPolicy'))).toLowerCase()).toBe('deny');
  });

  it('Application Insights on a Log Analytics workspace, with local auth off', () => {
    expect(declared('Microsoft.OperationalInsights/workspaces', 'avm/res/operational-insights/workspace')).toHaveLength(1);
    const components = declared('Microsoft.Insights/components', 'avm/res/insights/component');
    expect(components).toHaveLength(1);
    const component = components[0] as Declaration;
    expect(literal(setting(component, 'properties.DisableLocalAuth'))).toBe(true);
    expect(setting(component, 'properties.WorkspaceResourceId')).toBeDefined();
  });
});

// Built-in role ids, from https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
const ROLES = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  'Web PubSub Service Owner': '12cf5a90-567b-43ae-8102-96cf46c7d9b4',
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;
type Role = keyof typeof ROLES;

interface Assignment {
  where: string;
  role: string | undefined;
  principalId: string;
  principalType: unknown;
  conditional: boolean;
}

function assignments(): Assignment[] {
  return declared('Microsoft.Authorization/roleAssignments').map((d) => {
    const definition = property(d.body, 'properties.roleDefinitionId');
    // subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <id or variable>)
    const idArg = callArguments(definition, 'subscriptionResourceId')?.at(-1);
    const roleId = resolveString(d.file, idArg) ?? resolveString(d.file, definition)?.split('/').at(-1);
    return {
      where: where(d),
      role: (Object.keys(ROLES) as Role[]).find((r) => ROLES[r] === roleId) ?? roleId,
      principalId: property(d.body, 'properties.principalId')?.text ?? '',
      principalType: literal(property(d.body, 'properties.principalType')),
      conditional: d.conditional,
    };
  });
}

describe('role assignments', () => {
  it('are named guid(<scope>.id, <principal>, <role>), so a second deployment finds the same assignment', () => {
    const list = declared('Microsoft.Authorization/roleAssignments');
    expect(list.length).toBeGreaterThan(0);
    for (const d of list) {
      const args = callArguments(property(d.body, 'name'), 'guid');
      expect(args, `${where(d)}: name is not guid(...)`).toBeDefined();
      const [scopeArg, principalArg, roleArg] = args ?? [];
      expect(args?.map((a) => a.text), where(d)).toHaveLength(3);
      expect(scopeArg?.text, where(d)).toBe(`${property(d.body, 'scope')?.text}.id`);
      expect(principalArg?.text, where(d)).toBe(property(d.body, 'properties.principalId')?.text);
      const definition = property(d.body, 'properties.roleDefinitionId');
      expect(resolveString(d.file, roleArg), where(d)).toBe(
        resolveString(d.file, callArguments(definition, 'subscriptionResourceId')?.at(-1)),
      );
    }
  });

  it('give the app identity what it uses, and only as a service principal', () => {
    const app = assignments().filter((a) => a.principalType === 'ServicePrincipal');
    expect(new Set(app.map((a) => a.principalId)).size, 'one identity').toBe(1);
    expect(app.map((a) => a.role).sort()).toEqual((Object.keys(ROLES) as Role[]).sort());
    expect(app.every((a) => !a.conditional)).toBe(true);
  });

  it('give the developer who ran azd the data roles for local debugging, only when there is one', () => {
    const user = assignments().filter((a) => a.principalType === 'User');
    expect(user.map((a) => a.role).sort()).toEqual(
      ['Key Vault Secrets Officer', 'Storage Table Data Contributor', 'Web PubSub Service Owner'].sort(),
    );
    expect(user.every((a) => a.conditional)).toBe(true);
  });

  it('use only the built-in role ids above', () => {
    for (const a of assignments()) expect(Object.keys(ROLES), a.where).toContain(a.role);
  });
});

describe('the Function App settings', () => {
  it('reach host storage with the identity, never a connection string', () => {
    const settings = functionAppSettings(files);
    expect(literal(settings.get('AzureWebJobsStorage__credential'))).toBe('managedidentity');
    expect(settings.has('AzureWebJobsStorage__accountName') || settings.has('AzureWebJobsStorage__blobServiceUri')).toBe(true);
    expect(settings.get('AzureWebJobsStorage__clientId')?.text).toBe(settings.get('AZURE_CLIENT_ID')?.text);
    expect(settings.has('AzureWebJobsStorage')).toBe(false);
    // The Application Insights connection string is no credential once local auth is off.
    const keyLike = [...settings.keys()].filter((k) => /connection_?string|accountkey|accesskey/i.test(k));
    expect(keyLike).toEqual(['APPLICATIONINSIGHTS_CONNECTION_STRING']);
  });

  it('send telemetry with an Entra token of the identity', () => {
    const auth = functionAppSettings(files).get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
    expect(auth?.text).toMatch(/^'Authorization=AAD;ClientId=\$\{\w+\}'$/);
  });

  it('keep plain-http instance URLs off in Azure', () => {
    expect(literal(functionAppSettings(files).get('ALLOW_INSECURE_LOOPBACK'))).toBe('false');
  });

  it('leave the runtime to functionAppConfig, as Flex Consumption requires', () => {
    const settings = functionAppSettings(files);
    for (const name of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_NODE_DEFAULT_VERSION', 'WEBSITE_RUN_FROM_PACKAGE']) {
      expect(settings.has(name), name).toBe(false);
    }
  });
});
