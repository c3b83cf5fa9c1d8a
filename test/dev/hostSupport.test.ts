// Unit tests of the local host's pure helpers: settings, entry-point globbing, RPC http conversion,
// function descriptions and log filtering.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeFunction,
  indexFunctions,
  isFunctionDisabled,
  resolveAppSettingExpressions,
} from '../../dev/host/functions.js';
import { queryToRecord, serializeCookie, toRpcHttpRequest, typedDataToBuffer } from '../../dev/host/httpRpc.js';
import { HostLogger } from '../../dev/host/logging.js';
import { DEFAULT_BODY_LIMIT } from '../../dev/host/server.js';
import {
  expandMainGlob,
  loadSettings,
  readHostConfig,
  readLocalHttpPort,
  resolveAppEntries,
} from '../../dev/host/settings.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'host-support-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('settings', () => {
  it('applies local.settings.json Values under the environment', () => {
    writeFileSync(
      join(dir, 'local.settings.json'),
      JSON.stringify({ IsEncrypted: false, Values: { HS_A: 'from-file', HS_B: 'from-file', HS_N: 3, HS_T: true } }),
    );
    process.env.HS_B = 'from-env';
    try {
      const merged = loadSettings(dir);
      expect(process.env.HS_A).toBe('from-file');
      expect(process.env.HS_B).toBe('from-env');
      expect(process.env.HS_N).toBe('3');
      expect(merged).toMatchObject({ HS_A: 'from-file', HS_B: 'from-env', HS_N: '3', HS_T: 'true' });
    } finally {
      for (const k of ['HS_A', 'HS_B', 'HS_N', 'HS_T']) delete process.env[k];
    }
  });

  it('tolerates a missing file and refuses an encrypted one', () => {
    expect(loadSettings(dir).PATH).toBe(process.env.PATH);
    writeFileSync(join(dir, 'local.settings.json'), JSON.stringify({ IsEncrypted: true, Values: {} }));
    expect(() => loadSettings(dir)).toThrow(/encrypted/);
  });

  it('reads Host.LocalHttpPort', () => {
    writeFileSync(join(dir, 'local.settings.json'), JSON.stringify({ Values: {}, Host: { LocalHttpPort: 7080 } }));
    expect(readLocalHttpPort(dir)).toBe(7080);
  });

  it('reads host.json routePrefix (default api, empty allowed) and log levels', () => {
    expect(readHostConfig(dir)).toEqual({ routePrefix: 'api', logLevels: {} });
    writeFileSync(join(dir, 'host.json'), JSON.stringify({ extensions: { http: { routePrefix: '' } } }));
    expect(readHostConfig(dir).routePrefix).toBe('');
    writeFileSync(
      join(dir, 'host.json'),
      JSON.stringify({ extensions: { http: { routePrefix: '/v2/' } }, logging: { logLevel: { default: 'Warning' } } }),
    );
    expect(readHostConfig(dir)).toEqual({ routePrefix: 'v2', logLevels: { default: 'Warning' } });
  });
});

describe('entry points', () => {
  beforeEach(() => {
    mkdirSync(join(dir, 'dist/src/functions/nested'), { recursive: true });
    for (const f of ['b.js', 'a.js', 'a.js.map', 'nested/c.js']) writeFileSync(join(dir, 'dist/src/functions', f), '');
  });

  it('expands package.json "main" globs, sorted', () => {
    const base = join(dir, 'dist/src/functions');
    expect(expandMainGlob(dir, 'dist/src/functions/*.js')).toEqual([join(base, 'a.js'), join(base, 'b.js')]);
    expect(expandMainGlob(dir, 'dist/src/functions/**/*.js')).toEqual([
      join(base, 'a.js'),
      join(base, 'b.js'),
      join(base, 'nested/c.js'),
    ]);
    expect(expandMainGlob(dir, 'dist/src/functions/a.js')).toEqual([join(base, 'a.js')]);
    expect(expandMainGlob(dir, 'dist/src/functions/?.js')).toEqual([join(base, 'a.js'), join(base, 'b.js')]);
    expect(expandMainGlob(dir, 'nope/*.js')).toEqual([]);
  });

  it('resolveAppEntries reads package.json and explains failures', () => {
    expect(() => resolveAppEntries(dir)).toThrow(/No package.json/);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x' }));
    expect(() => resolveAppEntries(dir)).toThrow(/no "main"/);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'dist/missing/*.js' }));
    expect(() => resolveAppEntries(dir)).toThrow(/No files match/);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'dist/src/functions/*.js' }));
    expect(resolveAppEntries(dir)).toHaveLength(2);
  });
});

describe('RPC http conversion', () => {
  it('builds the RPC request with raw bytes, nullable maps and trigger metadata', () => {
    const body = Buffer.from([0xff, 0x00, 0xfe]);
    const { http, triggerMetadata } = toRpcHttpRequest({
      method: 'POST',
      url: 'http://127.0.0.1:7071/api/x/1?a=1&a=2',
      headers: { 'content-type': 'application/octet-stream', 'x-multi': 'a, b' },
      params: { id: '1' },
      body,
    });
    expect(http.method).toBe('POST');
    expect(http.query).toEqual({ a: '1,2' });
    expect(http.nullableQuery).toEqual({ a: { value: '1,2' } });
    expect(http.params).toEqual({ id: '1' });
    expect(http.headers).toMatchObject({ 'x-multi': 'a, b' });
    expect(Buffer.from(http.body!.bytes!).equals(body)).toBe(true);
    expect(http.body!.bytes!.buffer).not.toBe(body.buffer);
    expect(triggerMetadata.id).toEqual({ string: '1' });
    expect(JSON.parse(triggerMetadata.Query!.json!)).toEqual({ a: '1,2' });
  });

  it('omits the body when there is none', () => {
    const { http } = toRpcHttpRequest({ method: 'GET', url: 'http://h/x', headers: {}, params: {}, body: Buffer.alloc(0) });
    expect(http.body).toBeUndefined();
  });

  it('converts typed data to bytes', () => {
    expect(typedDataToBuffer({ bytes: new Uint8Array([1, 2]) })).toEqual(Buffer.from([1, 2]));
    expect(typedDataToBuffer({ string: 'é' })).toEqual(Buffer.from('é'));
    expect(typedDataToBuffer({ json: '{"a":1}' })?.toString()).toBe('{"a":1}');
    expect(typedDataToBuffer({ int: 5 })?.toString()).toBe('5');
    expect(typedDataToBuffer(undefined)).toBeUndefined();
  });

  it('serialises cookies like ASP.NET Core', () => {
    expect(
      serializeCookie({
        name: 'sid',
        value: "a b;c!'",
        domain: { value: 'example.com' },
        path: { value: '/' },
        expires: { value: { seconds: 0 } },
        maxAge: { value: 3600 },
        secure: { value: true },
        httpOnly: { value: true },
        sameSite: 'strict',
      }),
    ).toBe(
      'sid=a%20b%3Bc%21%27; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=3600; domain=example.com; path=/; secure; samesite=strict; httponly',
    );
    expect(serializeCookie({ name: 'x', value: 'y', sameSite: 'explicitNone' })).toBe('x=y; samesite=none');
    expect(serializeCookie({ name: 'x', value: 'y', sameSite: 'none' })).toBe('x=y');
  });

  it('joins repeated query keys with commas', () => {
    expect(queryToRecord(new URLSearchParams('a=1&b=&a=3'))).toEqual({ a: '1,3', b: '' });
  });

  it('uses the host default body limit of 100 MB', () => {
    expect(DEFAULT_BODY_LIMIT).toBe(104_857_600);
  });
});

describe('function descriptions', () => {
  const http = (name: string, trigger: Record<string, unknown>) => ({
    metadata: {
      name,
      bindings: {
        req: { type: 'httpTrigger', direction: 'in' as const, ...trigger },
        $return: { type: 'http', direction: 'out' as const },
      },
    },
    callback: () => undefined,
  });

  it('defaults the route to the name and the methods to GET, POST', () => {
    const fn = describeFunction(http('hello', { authLevel: 'Function' }));
    expect(fn.info).toEqual({ name: 'hello', type: 'http', route: 'hello', methods: ['GET', 'POST'], authLevel: 'function' });
    expect(fn.httpOutputName).toBe('$return');
    expect(fn.triggerName).toBe('req');
  });

  it('resolves %AppSetting% expressions and rejects invalid names', () => {
    expect(resolveAppSettingExpressions('%HS_SCHEDULE%', { HS_SCHEDULE: '0 * * * * *' })).toBe('0 * * * * *');
    expect(() => resolveAppSettingExpressions('%MISSING_X%', {})).toThrow(/MISSING_X/);
    expect(() => describeFunction(http('1bad', {}))).toThrow(/not a valid function name/);
  });

  it('reads AzureWebJobs.<name>.Disabled', () => {
    expect(isFunctionDisabled('f', { 'AzureWebJobs.f.Disabled': 'true' })).toBe(true);
    expect(isFunctionDisabled('f', { AzureWebJobs_f_Disabled: '1' })).toBe(true);
    expect(isFunctionDisabled('f', { 'AzureWebJobs.f.Disabled': 'false' })).toBe(false);
    expect(isFunctionDisabled('f', {})).toBe(false);
  });
});

describe('indexFunctions', () => {
  const reg = (name: string, trigger: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    metadata: {
      name,
      bindings: {
        trig: { direction: 'in' as const, ...trigger },
        $return: { type: 'http', direction: 'out' as const },
        ...extra,
      },
    },
    callback: () => undefined,
  });

  it('skips functions the host could not load, keeps the rest, and warns about unsupported bindings', () => {
    const lines: string[] = [];
    const logger = new HostLogger((l) => lines.push(l));
    const { functions, routes } = indexFunctions(
      [
        reg('ok', { type: 'httpTrigger', route: 'items/{id:int}', methods: ['GET'] }),
        reg('adminRoute', { type: 'httpTrigger', route: 'admin/x' }),
        reg('badRoute', { type: 'httpTrigger', route: 'a/{id' }),
        reg('badSchedule', { type: 'timerTrigger', schedule: '61 * * * * *' }),
        reg('settingSchedule', { type: 'timerTrigger', schedule: '%HS_SCHED%' }),
        reg('off', { type: 'httpTrigger' }),
        reg('queue', { type: 'queueTrigger' }, { out: { type: 'queue', direction: 'out' as const } }),
      ],
      'api',
      logger,
      { HS_SCHED: '0 */5 * * * *', 'AzureWebJobs.off.Disabled': 'true' },
    );
    expect(functions.map((f) => f.info.name)).toEqual(['ok', 'settingSchedule', 'queue']);
    expect(functions[1]!.info).toEqual({ name: 'settingSchedule', type: 'timer', schedule: '0 */5 * * * *' });
    expect(functions[2]!.info).toEqual({ name: 'queue', type: 'queueTrigger' });
    expect(routes.match('GET', '/api/items/3')?.entry.value.info.name).toBe('ok');
    expect(lines.some((l) => l.includes("'adminRoute' was not loaded") && l.includes('built-in routes'))).toBe(true);
    expect(lines.some((l) => l.includes("'badRoute' was not loaded"))).toBe(true);
    expect(lines.some((l) => l.includes("'badSchedule' was not loaded"))).toBe(true);
    expect(lines.some((l) => l.includes("'off' is disabled"))).toBe(true);
    expect(lines.some((l) => l.includes("'queue': bindings not provided") && l.includes('out (queue, out)'))).toBe(true);
  });
});

describe('HostLogger', () => {
  it('filters by host.json categories and prefixes lines with function and level', () => {
    const lines: string[] = [];
    const logger = new HostLogger((l) => lines.push(l), { default: 'Warning', 'Function.loud': 'Trace' });
    logger.user('quiet', 'information', 'hidden');
    logger.user('quiet', 'error', 'shown');
    logger.user('loud', 'debug', 'debug shown');
    logger.system('information', 'system info hidden');
    logger.system('warning', 'system warning');
    expect(lines).toEqual(['[quiet] Error: shown', '[loud] Debug: debug shown', '[host] Warning: system warning']);
  });
});
