/**
 * How the bridge gets to Azure: azure.yaml, the prepackage hook that stages the deployment package, and
 * the GitHub workflows. The hook runs here on a small made-up project (no build, no npm ci), so the test
 * needs neither the network nor Azure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './bicepTree.js';

const read = (rel: string) => readFileSync(path.join(repoRoot, rel), 'utf8');
const yamlFile = (rel: string) => parse(read(rel)) as Record<string, any>;
const HOOK = path.join(repoRoot, 'infra/hooks/package-functionapp.mjs');

describe('azure.yaml', () => {
  const api = () => yamlFile('azure.yaml').services?.api as Record<string, any>;

  it('deploys the service api, TypeScript, to a Function App', () => {
    expect(api()).toMatchObject({ project: '.', language: 'ts', host: 'function' });
  });

  it('packages the staged directory, complete with node_modules, and stages it before packaging', () => {
    expect(api().dist).toBe('dist/functionapp');
    expect(api().remoteBuild).toBe(false);
    for (const os of ['posix', 'windows']) {
      expect(api().hooks?.prepackage?.[os]?.run, os).toBe('node infra/hooks/package-functionapp.mjs');
    }
    expect(existsSync(HOOK)).toBe(true);
  });

  it('matches package.json: the build script and the entry point the package keeps', () => {
    const pkg = JSON.parse(read('package.json')) as { main: string; scripts: Record<string, string> };
    expect(pkg.main).toBe('dist/src/functions/*.js');
    expect(pkg.scripts.build).toBeDefined();
  });
});

describe('the prepackage hook', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  function project(files: Record<string, string>): string {
    root = mkdtempSync(path.join(tmpdir(), 'fq-package-'));
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    }
    return root;
  }

  const runHook = (dir: string) =>
    spawnSync(process.execPath, [HOOK, '--root', dir, '--skip-build', '--skip-install'], { encoding: 'utf8' });

  function listFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
  }

  it('stages the compiled app, host.json and a package.json without scripts or dev tools, and nothing else', () => {
    const dir = project({
      'dist/src/functions/health.js': 'export {};',
      'dist/src/functions/health.js.map': '{}',
      'dist/src/lib/runtime.js': 'export {};',
      'dist/dev/start.js': 'export {};',
      'dist/bench/run.js': 'export {};',
      'src/functions/health.ts': 'export {};',
      'test/a.test.ts': '',
      'host.json': '{"version":"2.0"}',
      'local.settings.json': '{"Values":{"SECRET":"x"}}',
      'package.json': JSON.stringify({
        name: 'x',
        type: 'module',
        main: 'dist/src/functions/*.js',
        scripts: { build: 'tsc' },
        dependencies: { '@azure/functions': '4.0.0' },
        devDependencies: { typescript: '5.0.0' },
      }),
      'package-lock.json': '{"lockfileVersion":3}',
    });
    const result = runHook(dir);
    expect(result.status, result.stderr).toBe(0);
    const out = path.join(dir, 'dist/functionapp');
    expect(listFiles(out)).toEqual([
      'dist/src/functions/health.js',
      'dist/src/lib/runtime.js',
      'host.json',
      'package-lock.json',
      'package.json',
    ]);
    const staged = JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(staged.scripts).toBeUndefined();
    expect(staged.devDependencies).toBeUndefined();
    expect(staged).toMatchObject({ main: 'dist/src/functions/*.js', dependencies: { '@azure/functions': '4.0.0' } });
  });

  it('replaces what an earlier run staged', () => {
    const dir = project({
      'dist/src/functions/a.js': '',
      'dist/functionapp/stale.txt': 'old',
      'host.json': '{}',
      'package.json': '{}',
      'package-lock.json': '{}',
    });
    expect(runHook(dir).status).toBe(0);
    expect(existsSync(path.join(dir, 'dist/functionapp/stale.txt'))).toBe(false);
  });

  it('fails, saying why, when nothing is compiled', () => {
    const dir = project({ 'host.json': '{}', 'package.json': '{}', 'package-lock.json': '{}' });
    const result = runHook(dir);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/holds no compiled function/);
  });
});

describe('the GitHub workflows', () => {
  it('ci: npm ci, typecheck, lint and test on Node 22, with the shared fixtures beside the repository', () => {
    const ci = yamlFile('.github/workflows/ci.yml');
    const steps = ci.jobs.test.steps as Record<string, any>[];
    const runs = steps.map((s) => String(s.run ?? ''));
    for (const command of ['npm ci', 'npm run typecheck', 'npm run lint', 'npm test']) {
      expect(runs.some((r) => r.startsWith(command)), command).toBe(true);
    }
    expect(steps.find((s) => String(s.uses).startsWith('actions/setup-node'))?.with['node-version']).toBe(22);
    const checkouts = steps.filter((s) => String(s.uses).startsWith('actions/checkout')).map((s) => s.with?.path);
    expect(checkouts).toEqual(['main', 'shared']);
    expect(ci.jobs.test.defaults.run['working-directory']).toBe('main');
  });

  it('deploy: azd with an OIDC federated credential, no stored secret', () => {
    const text = read('.github/workflows/deploy.yml');
    const deploy = parse(text) as Record<string, any>;
    expect(deploy.permissions['id-token']).toBe('write');
    expect(text).not.toMatch(/secrets\./);
    const runs = (deploy.jobs.deploy.steps as Record<string, any>[]).map((s) => String(s.run ?? ''));
    expect(runs.some((r) => /azd auth login[\s\S]*--federated-credential-provider github/.test(r))).toBe(true);
    expect(runs.some((r) => r.startsWith('azd provision --no-prompt'))).toBe(true);
    expect(runs.some((r) => r.startsWith('azd deploy --no-prompt'))).toBe(true);
    for (const name of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_SUBSCRIPTION_ID', 'AZURE_ENV_NAME', 'AZURE_LOCATION']) {
      expect(text, name).toContain(`vars.${name}`);
    }
  });
});
