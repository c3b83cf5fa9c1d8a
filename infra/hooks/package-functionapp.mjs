#!/usr/bin/env node
// azd `prepackage` hook of the `api` service (azure.yaml). Stages exactly what the Function App runs
// in dist/functionapp (azure.yaml `dist`), which azd zips and deploys:
//   dist/src/**/*.js   the compiled app (package.json "main" is dist/src/functions/*.js)
//   host.json
//   package.json       without scripts and devDependencies: nothing may build it again or install
//                      dev tools (an older azd that builds remotely runs npm install on it)
//   package-lock.json
//   node_modules/      production dependencies only (npm ci --omit=dev)
// Sources, tests, dev tools, the local stack and local.settings.json stay out of the package.
//
// Usage: node infra/hooks/package-functionapp.mjs [--root DIR] [--out DIR] [--skip-build] [--skip-install]
// (the options are for test/infra; azd runs it without any).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = path.resolve(option('--root') ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
const out = path.resolve(root, option('--out') ?? path.join('dist', 'functionapp'));
const skipBuild = args.includes('--skip-build');
const skipInstall = args.includes('--skip-install');

function npm(cwd, ...npmArgs) {
  // npm is npm.cmd on Windows, which Node only starts through a shell.
  const result = spawnSync('npm', npmArgs, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`npm ${npmArgs.join(' ')} failed in ${cwd} (exit ${result.status ?? result.signal})`);
}

async function jsFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js'));
}

async function main() {
  if (!skipBuild) {
    // Self-contained whatever azd ran before this hook: dev dependencies for tsc, then the build.
    if (!existsSync(path.join(root, 'node_modules', 'typescript'))) npm(root, 'ci', '--no-audit', '--no-fund');
    npm(root, 'run', 'build');
  }
  const functionsDir = path.join(root, 'dist', 'src', 'functions');
  if (!existsSync(functionsDir) || (await jsFiles(functionsDir)).length === 0) {
    throw new Error(`${functionsDir} holds no compiled function: run npm run build first`);
  }

  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  // The compiled app without source maps: they point at .ts files that are not deployed.
  await cp(path.join(root, 'dist', 'src'), path.join(out, 'dist', 'src'), {
    recursive: true,
    filter: (source) => !source.endsWith('.map'),
  });
  await cp(path.join(root, 'host.json'), path.join(out, 'host.json'));
  await cp(path.join(root, 'package-lock.json'), path.join(out, 'package-lock.json'));
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
  delete pkg.scripts;
  delete pkg.devDependencies;
  await writeFile(path.join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);

  if (!skipInstall) {
    npm(out, 'ci', '--omit=dev', '--no-audit', '--no-fund');
    if (!existsSync(path.join(out, 'node_modules', '@azure', 'functions', 'package.json'))) {
      throw new Error(`${out}/node_modules lacks @azure/functions after npm ci`);
    }
  }
  const count = (await jsFiles(path.join(out, 'dist', 'src'))).length;
  console.log(`Staged ${count} compiled files${skipInstall ? '' : ' and production node_modules'} in ${path.relative(root, out) || out}`);
}

main().catch((error) => {
  console.error(`package-functionapp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
