/**
 * Project configuration the way Core Tools / the Functions host read it:
 * - local.settings.json "Values" become app settings (environment variables). Core Tools does not override a
 *   variable that is already set in the environment, so the environment wins.
 * - host.json gives `extensions.http.routePrefix` (default "api") and `logging.logLevel`.
 * - package.json "main" names the app entry points; the Node worker accepts a glob there
 *   (https://learn.microsoft.com/azure/azure-functions/functions-reference-node#registering-a-function).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export interface HostConfig {
  routePrefix: string;
  /** `logging.logLevel` from host.json: category (or prefix) → level name. */
  logLevels: Record<string, string>;
}

function readJsonFile(path: string): unknown {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`Cannot parse ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Read local.settings.json "Values" (no environment merge). Missing file → {}. */
export function readLocalSettingsValues(projectDir: string): Record<string, string> {
  const file = join(projectDir, 'local.settings.json');
  if (!existsSync(file)) return {};
  const json = readJsonFile(file);
  if (!isRecord(json)) throw new Error(`${file} must contain a JSON object.`);
  if (json.IsEncrypted === true) {
    throw new Error(`${file} is encrypted ("IsEncrypted": true); the local host cannot decrypt it.`);
  }
  const values = json.Values;
  if (values === undefined) return {};
  if (!isRecord(values)) throw new Error(`${file}: "Values" must be an object.`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    // App settings are strings in Azure; Core Tools stringifies numbers/booleans too.
    out[key] = typeof value === 'string' ? value : String(value);
  }
  return out;
}

/** The `Host.LocalHttpPort` value of local.settings.json, which `func start` uses as its default port. */
export function readLocalHttpPort(projectDir: string): number | undefined {
  const file = join(projectDir, 'local.settings.json');
  if (!existsSync(file)) return undefined;
  const json = readJsonFile(file);
  if (!isRecord(json) || !isRecord(json.Host)) return undefined;
  const port = Number(json.Host.LocalHttpPort);
  return Number.isInteger(port) && port >= 0 && port < 65536 ? port : undefined;
}

/**
 * local.settings.json "Values" merged under process.env (the environment wins). Keys not already in the
 * environment are written to process.env, so call this BEFORE importing the app: app modules often read
 * settings at import time. Returns the effective values of all settings (environment included).
 */
export function loadSettings(projectDir: string): Record<string, string> {
  const values = readLocalSettingsValues(projectDir);
  for (const [key, value] of Object.entries(values)) {
    if (process.env[key] === undefined) process.env[key] = value;
  }
  const merged: Record<string, string> = { ...values };
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/** host.json settings this host honours. Missing file → defaults. */
export function readHostConfig(projectDir: string): HostConfig {
  const file = join(projectDir, 'host.json');
  const config: HostConfig = { routePrefix: 'api', logLevels: {} };
  if (!existsSync(file)) return config;
  const json = readJsonFile(file);
  if (!isRecord(json)) return config;
  const http = isRecord(json.extensions) && isRecord(json.extensions.http) ? json.extensions.http : undefined;
  if (http && typeof http.routePrefix === 'string') {
    // An empty string is allowed and removes the prefix (functions-bindings-http-webhook host.json docs).
    config.routePrefix = http.routePrefix.replace(/^\/+|\/+$/g, '');
  }
  if (isRecord(json.logging) && isRecord(json.logging.logLevel)) {
    for (const [category, level] of Object.entries(json.logging.logLevel)) {
      if (typeof level === 'string') config.logLevels[category] = level;
    }
  }
  return config;
}

function globSegmentToRegExp(segment: string): RegExp {
  let source = '';
  for (const ch of segment) {
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Expand a package.json "main" value (a path or a simple glob with `*`, `?` and `**` segments) relative to
 * projectDir into absolute file paths, sorted for a deterministic load order.
 */
export function expandMainGlob(projectDir: string, pattern: string): string[] {
  const normalized = pattern.replace(/\\/g, '/');
  if (!/[*?]/.test(normalized)) {
    const file = isAbsolute(normalized) ? normalized : resolve(projectDir, normalized);
    return existsSync(file) ? [file] : [];
  }
  const absolute = isAbsolute(normalized) ? normalized : resolve(projectDir, normalized).replace(/\\/g, '/');
  const segments = absolute.split('/');
  // Walk from the longest literal prefix.
  let firstGlob = segments.findIndex((s) => /[*?]/.test(s));
  if (firstGlob < 0) firstGlob = segments.length;
  const base = segments.slice(0, firstGlob).join('/') || '/';
  const rest = segments.slice(firstGlob);
  const results = new Set<string>();

  const walk = (dir: string, parts: string[]): void => {
    if (parts.length === 0) return;
    const [head, ...tail] = parts as [string, ...string[]];
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    if (head === '**') {
      walk(dir, tail); // zero directories
      for (const name of entries) {
        const full = join(dir, name);
        if (name !== 'node_modules' && safeIsDir(full)) walk(full, parts);
      }
      return;
    }
    const re = globSegmentToRegExp(head);
    for (const name of entries) {
      if (!re.test(name)) continue;
      const full = join(dir, name);
      if (tail.length === 0) {
        if (!safeIsDir(full)) results.add(full);
      } else if (safeIsDir(full)) {
        walk(full, tail);
      }
    }
  };
  walk(base, rest);
  return [...results].sort();
}

function safeIsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The app entry points named by package.json "main" in projectDir. */
export function resolveAppEntries(projectDir: string): string[] {
  const pkgFile = join(projectDir, 'package.json');
  if (!existsSync(pkgFile)) throw new Error(`No package.json in ${projectDir}; pass appEntries explicitly.`);
  const pkg = readJsonFile(pkgFile);
  const main = isRecord(pkg) ? pkg.main : undefined;
  if (typeof main !== 'string' || main.trim() === '') {
    throw new Error(`${pkgFile} has no "main" field naming the function entry points (e.g. "dist/src/functions/*.js").`);
  }
  const files = expandMainGlob(projectDir, main.trim());
  if (files.length === 0) {
    throw new Error(`No files match package.json "main" (${main}) in ${projectDir}. Did you build the app first?`);
  }
  return files;
}
