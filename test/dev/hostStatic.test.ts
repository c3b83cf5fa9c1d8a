// The local host's staticRoutes (dev/host/staticFiles.ts), over real HTTP. Registrations are process-global,
// so this file runs its own host (vitest gives each file its own process with pool 'forks').
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../dev/host/localHost.js';
import { createStaticFiles, safeSegments } from '../../dev/host/staticFiles.js';

const fixtureDir = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/hostApp');
const OUTSIDE = 'outside-secret-content';
const INDEX = '<!doctype html><title>console</title>';

let host: LocalHost;
let temp: string;
let site: string;

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'host-static-'));
  site = join(temp, 'site');
  mkdirSync(join(site, 'sub'), { recursive: true });
  mkdirSync(join(temp, 'docs'));
  writeFileSync(join(temp, 'outside.txt'), OUTSIDE);
  writeFileSync(join(site, 'index.html'), INDEX);
  writeFileSync(join(site, 'app.js'), 'console.log("hi");');
  writeFileSync(join(site, 'style.css'), 'body{}');
  writeFileSync(join(site, 'data.json'), '{"a":1}');
  writeFileSync(join(site, 'blob.bin'), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(site, 'empty.txt'), '');
  writeFileSync(join(site, 'with space.txt'), 'spaced');
  writeFileSync(join(site, '.env'), OUTSIDE);
  writeFileSync(join(site, 'sub', 'index.html'), '<p>sub</p>');
  writeFileSync(join(temp, 'docs', 'index.html'), '<p>docs</p>');
  symlinkSync(join(temp, 'outside.txt'), join(site, 'leak.txt'));
  symlinkSync(temp, join(site, 'up'));

  host = await startLocalHost({
    projectDir: fixtureDir,
    appEntries: [join(fixtureDir, 'functions/http.ts')],
    port: 0,
    runTimers: false,
    log: () => undefined,
    staticRoutes: { '/console/': site, '/console/docs/': join(temp, 'docs') },
  });
});

afterAll(async () => {
  await host?.close();
  rmSync(temp, { recursive: true, force: true });
});

/** A request with the path exactly as written (fetch would resolve `..` before sending). */
function raw(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('staticRoutes', () => {
  it('serves index.html for the prefix itself, with no-store and nosniff; the query is ignored', async () => {
    for (const path of ['/console/', '/console/?code=abc&state=xyz']) {
      const res = await raw(path);
      expect(res.status, path).toBe(200);
      expect(res.body.toString()).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-length']).toBe(String(INDEX.length));
    }
  });

  it('redirects the prefix without its slash, and folders, keeping the query', async () => {
    expect(await raw('/console?code=1&state=2')).toMatchObject({ status: 301, headers: { location: '/console/?code=1&state=2' } });
    expect(await raw('/console/sub')).toMatchObject({ status: 301, headers: { location: '/console/sub/' } });
    expect((await raw('/console/sub/')).body.toString()).toBe('<p>sub</p>');
  });

  it('answers with the content type of the extension', async () => {
    const types: Record<string, string> = {
      '/console/app.js': 'text/javascript; charset=utf-8',
      '/console/style.css': 'text/css; charset=utf-8',
      '/console/data.json': 'application/json; charset=utf-8',
      '/console/blob.bin': 'application/octet-stream',
      '/console/with%20space.txt': 'text/plain; charset=utf-8',
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await fetch(`${host.url}${path}`);
      expect([res.status, res.headers.get('content-type')], path).toEqual([200, type]);
    }
    expect(Buffer.from(await (await fetch(`${host.url}/console/blob.bin`)).arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    const empty = await raw('/console/empty.txt');
    expect([empty.status, empty.headers['content-length'], empty.body.length]).toEqual([200, '0', 0]);
  });

  it('HEAD gives the headers and no body', async () => {
    const res = await raw('/console/app.js', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String('console.log("hi");'.length));
    expect(res.body.length).toBe(0);
  });

  it('never serves anything outside the directory, nor hidden files', async () => {
    const attempts = [
      '/console/../outside.txt',
      '/console/%2e%2e/outside.txt',
      '/console/%2E%2E/outside.txt',
      '/console/..%2foutside.txt',
      '/console/..%2Foutside.txt',
      '/console/..%5coutside.txt',
      '/console/sub/../../outside.txt',
      '/console/sub/%2e%2e%2f%2e%2e%2foutside.txt',
      '/console/./index.html',
      '/console//outside.txt',
      '/console/%2f' + encodeURIComponent(join(temp, 'outside.txt')),
      '/console/leak.txt', // a symbolic link to a file outside
      '/console/up/outside.txt', // through a linked folder
      '/console/.env',
      '/console/%2eenv',
      '/console/index.html%00.js',
      '/console/%E0%A4%A',
    ];
    for (const path of attempts) {
      const res = await raw(path);
      expect(res.status, path).toBe(404);
      expect(res.body.toString(), path).not.toContain(OUTSIDE);
    }
    expect(safeSegments('a/%2e%2e/b')).toBeUndefined();
    expect(safeSegments('a/b/')).toEqual(['a', 'b']);
  });

  it('404 (empty) for a file that does not exist; the longest prefix wins', async () => {
    const missing = await raw('/console/nope.js');
    expect([missing.status, missing.body.length]).toEqual([404, 0]);
    expect((await raw('/console/docs/')).body.toString()).toBe('<p>docs</p>');
  });

  it('leaves other methods and other paths to function routing', async () => {
    const post = await raw('/console/', 'POST');
    expect([post.status, post.body.length]).toEqual([404, 0]); // no function there: the host's empty 404
    const fn = await fetch(`${host.url}/v1/sessions/current`);
    expect([fn.status, await fn.json()]).toEqual([200, { which: 'current' }]);
    expect((await raw('/consoles/')).status).toBe(404);
  });

  it('checks its options once, at start', () => {
    const track = <T>(p: Promise<T>) => p;
    expect(() => createStaticFiles({ console: site }, track, () => undefined)).toThrow(/must start and end with '\/'/);
    expect(() => createStaticFiles({ '/console': site }, track, () => undefined)).toThrow(/must start and end/);
    expect(() => createStaticFiles({ '/a/../b/': site }, track, () => undefined)).toThrow(/must start and end/);
    expect(() => createStaticFiles({ '/console/': join(temp, 'missing') }, track, () => undefined)).toThrow(/does not exist/);
    expect(() => createStaticFiles({ '/console/': join(site, 'app.js') }, track, () => undefined)).toThrow(/not a directory/);
  });
});
