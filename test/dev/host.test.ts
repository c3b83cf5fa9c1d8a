// Integration tests of the local Functions host over real HTTP. Registrations are process-global, so all host
// tests live in this one file (vitest runs each file in its own process with pool 'forks').
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings, startLocalHost, type LocalHost } from '../../dev/host/localHost.js';
import { fixtureState } from '../fixtures/hostApp/functions/state.js';

const fixtureDir = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/hostApp');
const appEntries = [join(fixtureDir, 'functions/http.ts'), join(fixtureDir, 'functions/timers.ts')];
const KEY = 'fixture-key-123';
const state = fixtureState();

let host: LocalHost;
const logs: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

function url(path: string): string {
  return `${host.url}${path}`;
}

async function getJson(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url(path), init);
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  // The environment must win over local.settings.json.
  process.env.FIXTURE_OVERRIDDEN = 'from-env';
  delete process.env.LOCAL_FUNCTION_KEY;
  host = await startLocalHost({
    projectDir: fixtureDir,
    appEntries,
    port: 0,
    runTimers: false,
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  await host?.close();
});

describe('startup', () => {
  it('listens on an ephemeral port and lists the functions', () => {
    expect(host.port).toBeGreaterThan(0);
    expect(host.url).toBe(`http://127.0.0.1:${host.port}`);
    const byName = Object.fromEntries(host.functions.map((f) => [f.name, f]));
    expect(byName.sessionsCurrent).toEqual({
      name: 'sessionsCurrent',
      type: 'http',
      route: 'sessions/current',
      methods: ['GET'],
      authLevel: 'anonymous',
    });
    expect(byName.defaults).toMatchObject({ type: 'http', route: 'defaults', methods: ['GET', 'POST'] });
    expect(byName.secured).toMatchObject({ authLevel: 'function' });
    expect(byName.manualTimer).toEqual({ name: 'manualTimer', type: 'timer', schedule: '0 0 0 1 1 *' });
    // AzureWebJobs.disabledFn.Disabled = true in local.settings.json
    expect(byName.disabledFn).toBeUndefined();
  });

  it('applies local.settings.json values, with the environment winning', async () => {
    expect(process.env.FIXTURE_FROM_SETTINGS).toBe('settings-value');
    expect(process.env.FIXTURE_OVERRIDDEN).toBe('from-env');
    const { body } = await getJson('/v1/settings');
    expect(body).toEqual({ fromSettings: 'settings-value', overridden: 'from-env', number: '42' });
    const merged = loadSettings(fixtureDir);
    expect(merged.FIXTURE_OVERRIDDEN).toBe('from-env');
    expect(merged.FIXTURE_FROM_SETTINGS).toBe('settings-value');
  });

  it('ran the appStart hook and refuses a second host in the same process', async () => {
    expect(state.appStarted).toBe(true);
    await expect(startLocalHost({ projectDir: fixtureDir, appEntries, port: 0 })).rejects.toThrow(/already running/);
  });

  it('does not run timers when runTimers is false (not even runOnStartup)', async () => {
    await sleep(1200);
    expect(state.fastRuns).toBe(0);
    expect(state.startupRuns).toBe(0);
  });
});

describe('routing', () => {
  it('prefers literal segments over parameters (sessions/current vs sessions/{sid})', async () => {
    expect(await getJson('/v1/sessions/current')).toEqual({ status: 200, body: { which: 'current' } });
    expect(await getJson('/v1/sessions/abc-123')).toEqual({ status: 200, body: { which: 'byId', sid: 'abc-123' } });
  });

  it('matches literals and the prefix case-insensitively and decodes parameters', async () => {
    expect((await getJson('/V1/Sessions/CURRENT')).body).toEqual({ which: 'current' });
    expect((await getJson('/v1/sessions/a%20b')).body).toEqual({ which: 'byId', sid: 'a b' });
    expect((await getJson('/v1/sessions/current/')).body).toEqual({ which: 'current' });
  });

  it('applies route constraints', async () => {
    expect((await getJson('/v1/items/42')).body).toEqual({ kind: 'int', id: '42' });
    expect((await getJson('/v1/items/abc')).body).toEqual({ kind: 'alpha', name: 'abc' });
    const res = await fetch(url('/v1/items/a1'));
    expect(res.status).toBe(404);
  });

  it('supports catch-all and optional parameters', async () => {
    expect((await getJson('/v1/files/a/b/c.txt')).body).toEqual({ path: 'a/b/c.txt' });
    expect((await getJson('/v1/files')).body).toEqual({ path: null });
    expect((await getJson('/v1/opt')).body).toEqual({ name: null });
    expect((await getJson('/v1/opt/x')).body).toEqual({ name: 'x' });
  });

  it('defaults the route to the function name and the methods to GET, POST', async () => {
    const get = await fetch(url('/v1/defaults'));
    expect(await get.text()).toBe('method=GET');
    const post = await fetch(url('/v1/defaults'), { method: 'POST', body: 'x' });
    expect(await post.text()).toBe('method=POST');
    const put = await fetch(url('/v1/defaults'), { method: 'PUT', body: 'x' });
    expect(put.status).toBe(404);
  });

  it('answers 404 (empty) for a method the route does not allow, unknown routes and the wrong prefix', async () => {
    const put = await fetch(url('/v1/things/7'), { method: 'PUT' });
    expect(put.status).toBe(204);
    expect(put.headers.get('x-thing')).toBe('7');
    for (const [method, path] of [
      ['GET', '/v1/things/7'],
      ['GET', '/v1/does-not-exist'],
      ['GET', '/api/sessions/current'],
      ['GET', '/sessions/current'],
      ['HEAD', '/v1/sessions/current'],
      ['OPTIONS', '/v1/sessions/current'],
    ] as const) {
      const res = await fetch(url(path), { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.text()).toBe('');
    }
  });

  it('passes the full URL, method and query (repeated keys joined with commas, as the host does)', async () => {
    const { body } = await getJson('/v1/query?a=1&b=two%20words&a=2');
    expect(body).toEqual({
      query: { a: '1,2', b: 'two words' },
      url: `${host.url}/v1/query?a=1&b=two%20words&a=2`,
      method: 'GET',
    });
  });
});

describe('request and response bodies', () => {
  it('delivers the raw body bytes unchanged (non-UTF-8 bytes and a signature over them)', async () => {
    const bytes = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]),
      Buffer.from('{"json":"but with \\u00e9 and é"}\r\n', 'utf8'),
    ]);
    const signature = createHmac('sha256', 'fixture-webhook-secret').update(bytes).digest('hex');
    const res = await fetch(url('/v1/webhook'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body: bytes,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-computed-signature')).toBe(signature);
    expect(res.headers.get('x-signature-valid')).toBe('true');
    expect(res.headers.get('x-body-length')).toBe(String(bytes.length));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const echoed = Buffer.from(await res.arrayBuffer());
    expect(echoed.equals(bytes)).toBe(true);
  });

  it('detects a tampered body (one byte changed)', async () => {
    const bytes = Buffer.from([1, 2, 3, 0xff, 0x80]);
    const signature = createHmac('sha256', 'fixture-webhook-secret').update(bytes).digest('hex');
    const tampered = Buffer.from(bytes);
    tampered[4] = 0x81;
    const res = await fetch(url('/v1/webhook'), { method: 'POST', headers: { 'x-signature': signature }, body: tampered });
    expect(res.headers.get('x-signature-valid')).toBe('false');
  });

  it('returns JSON bodies with status and content type', async () => {
    const res = await fetch(url('/v1/json-echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'wörld', n: 1 }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ received: { hello: 'wörld', n: 1 } });
  });

  it('returns status, headers and cookies', async () => {
    const res = await fetch(url('/v1/cookies'));
    expect(res.status).toBe(202);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.getSetCookie()).toEqual([
      'session=a%20b; path=/; samesite=lax; httponly',
      'plain=v; max-age=60; secure',
    ]);
    expect(await res.text()).toBe('cookie body');
  });

  it('answers 200 with an empty body when the function returns no response', async () => {
    const res = await fetch(url('/v1/nothing'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('rejects bodies over the size limit with 413', async () => {
    // FUNCTIONS_REQUEST_BODY_SIZE_LIMIT = 65536 in the fixture's local.settings.json (default 100 MB).
    const res = await fetch(url('/v1/webhook'), { method: 'POST', body: Buffer.alloc(70_000, 1) });
    expect(res.status).toBe(413);
    const ok = await fetch(url('/v1/webhook'), { method: 'POST', body: Buffer.alloc(65_536, 1) });
    expect(ok.status).toBe(200);
  });
});

describe('auth levels', () => {
  it('answers 401 with an empty body without the key', async () => {
    const res = await fetch(url('/v1/secure/a'));
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('');
    const wrong = await fetch(url('/v1/secure/a'), { headers: { 'x-functions-key': 'nope' } });
    expect(wrong.status).toBe(401);
    const wrongCode = await fetch(url('/v1/secure/a?code=nope'));
    expect(wrongCode.status).toBe(401);
  });

  it('accepts the key as x-functions-key header', async () => {
    expect(await getJson('/v1/secure/a', { headers: { 'x-functions-key': KEY } })).toEqual({
      status: 200,
      body: { thing: 'a', code: null },
    });
  });

  it('accepts the key as the code query parameter (still visible to the function, as in Azure)', async () => {
    expect(await getJson(`/v1/secure/b?code=${KEY}`)).toEqual({ status: 200, body: { thing: 'b', code: KEY } });
  });

  it('protects authLevel admin with the same local key', async () => {
    expect((await fetch(url('/v1/admin-level'))).status).toBe(401);
    const ok = await fetch(url('/v1/admin-level'), { headers: { 'x-functions-key': KEY } });
    expect(await ok.text()).toBe('admin ok');
  });
});

describe('errors and logs', () => {
  it('answers 500 with an empty body when the function throws, and logs the error', async () => {
    const res = await fetch(url('/v1/boom'));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    expect(logs.some((l) => l.startsWith('[boom] Error:') && l.includes('kaboom: this is the function error'))).toBe(true);
    expect(logs.some((l) => /^\[boom\] Error: Executed 'Functions\.boom' \(Failed, Id=[0-9a-f-]+, Duration=\d+ms\)$/.test(l))).toBe(
      true,
    );
  });

  it('sends context.log calls to the sink, one line each, prefixed with function and level', async () => {
    const res = await fetch(url('/v1/logs'), {
      method: 'POST',
      headers: { 'x-secret-header': 'TOPSECRET-HEADER' },
      body: 'BODYSECRET-CONTENT',
    });
    expect(await res.text()).toBe('logged');
    expect(logs).toContain('[logs] Information: hello from logs');
    expect(logs).toContain('[logs] Warning: careful');
    expect(logs).toContain('[logs] Error: bad thing { code: 7 }');
    expect(logs.some((l) => l.includes('debug is below'))).toBe(false);
    expect(logs.some((l) => /^\[logs\] Information: Executing 'Functions\.logs' \(Reason=/.test(l))).toBe(true);
  });

  it('honours host.json logging.logLevel for a function category', async () => {
    await fetch(url('/v1/quiet')).then((r) => r.text());
    expect(logs).toContain('[quiet] Warning: quiet warning shows');
    expect(logs.some((l) => l.includes('quiet info is filtered'))).toBe(false);
  });

  it('never logs request headers or bodies', () => {
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) {
      expect(line).not.toContain('TOPSECRET');
      expect(line).not.toContain('BODYSECRET');
      expect(line).not.toContain(KEY);
    }
  });
});

describe('hooks', () => {
  it('runs preInvocation/postInvocation hooks around the function (hookData shared, result replaced)', async () => {
    const { body } = await getJson('/v1/hooked');
    expect(body).toEqual({ hooked: true, marker: 'from-pre', original: { jsonBody: { original: true } } });
    expect(state.hookOrder).toEqual(['pre', 'post']);
  });
});

describe('timers and the admin API', () => {
  it('runFunction invokes a timer with the timer argument shaped like the real one', async () => {
    const before = state.timerCalls.length;
    await host.runFunction('manualTimer');
    expect(state.timerCalls.length).toBe(before + 1);
    const timer = state.timerCalls.at(-1)!.timer as Record<string, unknown>;
    expect(timer.isPastDue).toBe(false);
    expect(timer.schedule).toEqual({ adjustForDST: true });
    const status = timer.scheduleStatus as Record<string, string>;
    expect(status.last).toBe('0001-01-01T00:00:00');
    expect(status.next).toMatch(/^\d{4}-01-01T00:00:00\.000Z$/);
    expect(logs).toContain('[manualTimer] Information: manual timer ran');

    await host.runFunction('MANUALTIMER'); // names are case-insensitive
    const second = (state.timerCalls.at(-1)!.timer as Record<string, Record<string, string>>).scheduleStatus!;
    expect(second.last).not.toBe('0001-01-01T00:00:00');
  });

  it('runFunction rejects for a failing function and for unknown or HTTP functions', async () => {
    await expect(host.runFunction('failingTimer')).rejects.toThrow('timer failure');
    await expect(host.runFunction('nope')).rejects.toThrow(/No function named 'nope'/);
    await expect(host.runFunction('sessionsCurrent')).rejects.toThrow(/HTTP-triggered/);
  });

  it('POST /admin/functions/{name} with the key answers 202 and runs the function', async () => {
    const before = state.timerCalls.length;
    const res = await fetch(url('/admin/functions/manualTimer'), {
      method: 'POST',
      headers: { 'x-functions-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ input: '' }),
    });
    expect(res.status).toBe(202);
    await waitFor(() => state.timerCalls.length === before + 1);
  });

  it('the admin API needs the key and answers 404 for unknown functions', async () => {
    const noKey = await fetch(url('/admin/functions/manualTimer'), { method: 'POST' });
    expect(noKey.status).toBe(401);
    const unknown = await fetch(url('/admin/functions/nope'), { method: 'POST', headers: { 'x-functions-key': KEY } });
    expect(unknown.status).toBe(404);
  });
});

describe('shutdown and restart', () => {
  it('close() waits for in-flight invocations', async () => {
    const pending = fetch(url('/v1/slow')).then((r) => r.text());
    await waitFor(() => logs.some((l) => l.includes("Executing 'Functions.slow'"))); // the function is running
    await host.close();
    expect(await pending).toBe('slow done');
    expect(state.appTerminated).toBe(1);
    await expect(fetch(url('/v1/sessions/current'))).rejects.toThrow();
  });

  it('releases everything when startup fails (port in use), so a later start works', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startLocalHost({ projectDir: fixtureDir, appEntries, port, runTimers: false, log: () => {} })).rejects.toThrow(
        /EADDRINUSE/,
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('runs timers on schedule when runTimers is true, never overlapping, and honours runOnStartup', async () => {
    // A new host may start after close(); it serves the registrations already made in this process.
    // With LOCAL_FUNCTION_KEY empty the host generates a key and prints it.
    process.env.LOCAL_FUNCTION_KEY = '';
    const restartLogs: string[] = [];
    host = await startLocalHost({ projectDir: fixtureDir, appEntries, port: 0, log: (line) => restartLogs.push(line) });
    const keyLine = restartLogs.find((l) => l.includes('generated function key'));
    const generated = /generated function key for this run: (\S+)$/.exec(keyLine ?? '')?.[1];
    expect(generated).toMatch(/^[\w-]{32}$/);
    expect(process.env.LOCAL_FUNCTION_KEY).toBe(generated); // published for the rest of the process
    expect((await fetch(url('/v1/secure/k'), { headers: { 'x-functions-key': KEY } })).status).toBe(401);
    expect((await fetch(url('/v1/secure/k'), { headers: { 'x-functions-key': generated! } })).status).toBe(200);

    await waitFor(() => state.startupRuns === 1, 3000);
    await waitFor(() => state.fastRuns >= 1, 3000);
    // A manual run while the scheduled one is going waits instead of overlapping.
    const manual = host.runFunction('fastTimer');
    await waitFor(() => state.fastRuns >= 3, 8000);
    await manual;
    // fastTimer takes 1.3 s on a 1 s schedule: ticks are skipped, runs never overlap.
    expect(state.fastMaxActive).toBe(1);
    expect(state.startupRuns).toBe(1);
    await host.close();
    expect(process.env.LOCAL_FUNCTION_KEY).toBe(''); // restored
    expect(state.fastActive).toBe(0);
    const runs = state.fastRuns;
    await sleep(1500);
    expect(state.fastRuns).toBe(runs); // stopped
  });
});
