/**
 * The shared event fixtures live next to the project: `<project root>/../shared/fixtures/servicenow`.
 * The project root is found by walking up from this file to the package.json named
 * `flowquest-bridge`, so it works from `dev/servicenow` (tsx, vitest) and `dist/dev/servicenow` alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'flowquest-bridge';
/** File names only: no separators, no `..`. */
const FIXTURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.json$/;

let cached: string | null | undefined;

export function projectRoot(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // An unreadable package.json on the way up is not ours.
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

export function fixturesDir(): string | undefined {
  if (cached === undefined) {
    const root = projectRoot();
    cached = root ? resolve(root, '../shared/fixtures/servicenow') : null;
  }
  return cached ?? undefined;
}

export type FixtureResult = { ok: true; event: object } | { ok: false; status: 400 | 404; message: string };

export async function readFixture(name: string): Promise<FixtureResult> {
  if (!FIXTURE_NAME.test(name)) return { ok: false, status: 400, message: 'fixture must be a file name such as incident-p1-inserted-assigned.json.' };
  const dir = fixturesDir();
  if (!dir) return { ok: false, status: 404, message: 'The shared fixtures folder was not found.' };
  let text: string;
  try {
    text = await readFile(join(dir, name), 'utf8');
  } catch {
    return { ok: false, status: 404, message: `No fixture named ${name} in ${dir}.` };
  }
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return { ok: false, status: 400, message: `${name} is not valid JSON.` };
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    return { ok: false, status: 400, message: `${name} does not hold a JSON object.` };
  }
  return { ok: true, event };
}
