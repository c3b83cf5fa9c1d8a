/**
 * Builds the live console into `dist/console/` (git-ignored, like every build output): console.ts bundled
 * by esbuild with @azure/web-pubsub-client, next to copies of index.html and console.css, so the host
 * serves one folder. startStack calls it, so `npm start` and every test stack serve a current console.
 *
 * Several test files start stacks at once (vitest forks), so each file is written to a temporary name
 * and renamed over the old one: a reader sees the old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { fixturesDir } from '../servicenow/fixtures.js';
import type { FixtureButton } from './fixtureButton.js';

/** The console's folder in the project; the bundle goes to `dist/console/`. */
export function consolePaths(projectDir: string): { source: string; out: string } {
  return { source: path.join(projectDir, 'dev/console'), out: path.join(projectDir, 'dist/console') };
}

/** One button per shared sample event (`../shared/fixtures/servicenow/*.json`), with what it is about. */
export function fixtureButtons(dir = fixturesDir()): FixtureButton[] {
  if (!dir) return [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^[A-Za-z0-9][A-Za-z0-9._-]*\.json$/.test(f)).sort();
  } catch {
    return [];
  }
  return files.map((file) => {
    let event: { event?: unknown; table?: unknown; number?: unknown; record?: { short_description?: unknown } } = {};
    try {
      event = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) ?? {};
    } catch {
      // A broken fixture still gets its button: /dev/emit will say what is wrong with it.
    }
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    return {
      file,
      name: file.replace(/\.json$/, ''),
      event: text(event.event),
      table: text(event.table),
      number: text(event.number),
      description: text(event.record?.short_description),
    };
  });
}

function writeAtomically(file: string, contents: Uint8Array | string): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** Bundles and copies; returns the folder to serve. Takes about a tenth of a second. */
export async function buildConsole(projectDir: string): Promise<string> {
  const { source, out } = consolePaths(projectDir);
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [path.join(source, 'console.ts')],
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    sourcemap: 'linked',
    write: false,
    logLevel: 'silent',
    define: { FIXTURE_BUTTONS: JSON.stringify(fixtureButtons()) },
  });
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  for (const name of ['index.html', 'console.css']) {
    const temporary = path.join(out, `${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    copyFileSync(path.join(source, name), temporary);
    renameSync(temporary, path.join(out, name));
  }
  return out;
}
