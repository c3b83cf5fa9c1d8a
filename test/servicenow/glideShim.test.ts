import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGlide, generateMac, javaUtf8, makeRecord, type HttpRequest } from './glideShim.js';

/** The shim itself: its encodings and behaviour must be ServiceNow's, or the other tests prove nothing. */
describe('GlideCertificateEncryption.generateMac', () => {
  it('matches RFC 4231 test case 2 with a base64 key and returns base64', () => {
    const key = Buffer.from('Jefe').toString('base64');
    const expected = Buffer.from('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'hex').toString('base64');
    expect(generateMac(key, 'HmacSHA256', 'what do ya want for nothing?')).toBe(expected);
  });

  it('signs the data as UTF-8 bytes, as Java String.getBytes(UTF_8) does', () => {
    const key = Buffer.alloc(32, 7);
    const data = 'evt.1700000000.{"t":"Störung – 東京 😀"}';
    expect(generateMac(key.toString('base64'), 'HmacSHA256', data)).toBe(createHmac('sha256', key).update(Buffer.from(data, 'utf8')).digest('base64'));
  });

  it('encodes an unpaired surrogate as "?" like Java, not as U+FFFD like Node', () => {
    expect(javaUtf8('a\uD83Db')).toEqual(Buffer.from('a?b'));
    expect(javaUtf8('\uDE00')).toEqual(Buffer.from('?'));
    expect(javaUtf8('😀')).toEqual(Buffer.from('😀', 'utf8'));
  });

  it('refuses a key that is not plain base64 (such as a whole whsec_ secret) and unknown algorithms', () => {
    expect(() => generateMac('whsec_AAAAAAAAAAAAAAAAAAAAAA==', 'HmacSHA256', 'x')).toThrow(/IllegalArgumentException/);
    expect(() => generateMac('', 'HmacSHA256', 'x')).toThrow(/IllegalArgumentException/);
    expect(() => generateMac('AAAA', 'HmacFoo', 'x')).toThrow(/NoSuchAlgorithmException/);
    expect(generateMac('AAAA', 'HMACSHA256', 'x')).toBe(generateMac('AAAA', 'HmacSHA256', 'x'));
  });
});

describe('the realm', () => {
  const requests: HttpRequest[] = [];
  const glide = createGlide({
    properties: { 'a.b': 'c' },
    now: () => Date.UTC(2026, 10, 22, 9, 14, 3, 250),
    transport: (request) => {
      requests.push(request);
      if (request.url.endsWith('/down')) return { status: 0, error: 'java.net.ConnectException: Connection refused' };
      if (request.url.endsWith('/boom')) throw new Error('socket closed');
      return { status: request.url.endsWith('/busy') ? 503 : 202, body: '{"status":"accepted"}' };
    },
  });

  it('has the allowed globals only, and no ES2015+ library (Rhino ES5 mode)', () => {
    const types = glide.run<string>(
      "[typeof Class, typeof gs, typeof GlideDateTime, typeof GlideCertificateEncryption, typeof sn_ws.RESTMessageV2, typeof JSON].join() + '|' + " +
        "[typeof require, typeof process, typeof Buffer, typeof console, typeof GlideRecord, typeof GlideStringUtil, typeof gs.log, typeof gs.sleep, " +
        "typeof gs.eventQueue, typeof Map, typeof Promise, typeof Symbol, typeof [].includes, typeof Object.assign, typeof ''.padStart, typeof Array.from].join()",
    );
    expect(types).toBe(
      'object,object,function,function,function,object|' + Array(16).fill('undefined').join(','),
    );
  });

  it('Class.create makes a constructor that calls initialize with the arguments', () => {
    expect(glide.run('var C = Class.create(); C.prototype = { initialize: function (a, b) { this.sum = a + b; } }; new C(2, 3).sum')).toBe(5);
  });

  it('gs: properties (with a default), 32-hex GUIDs, log lines with {n} parameters, UTC nowDateTime', () => {
    expect(glide.run("[gs.getProperty('a.b'), gs.getProperty('nope'), gs.getProperty('nope', 'd')]")).toEqual(['c', null, 'd']);
    expect(glide.run('gs.generateGUID()')).toMatch(/^[0-9a-f]{32}$/);
    glide.run("gs.warn('x {0} y {1}', 1, 'two')");
    expect(glide.logs.at(-1)).toEqual({ level: 'warn', message: 'x 1 y two' });
    expect(glide.run('gs.nowDateTime()')).toBe('2026-11-22 09:14:03');
    expect(glide.run('new GlideDateTime().getNumericValue()')).toBe(Date.UTC(2026, 10, 22, 9, 14, 3, 250));
    expect(() => glide.run("new GlideDateTime('2026-01-01 00:00:00')")).toThrow(/outside the allowed Glide surface/);
  });

  it('RESTMessageV2: sends what was set, synchronously; status, body and errors as RESTResponseV2 reports them', () => {
    const result = glide.run<string>(`
      var r = new sn_ws.RESTMessageV2();
      r.setEndpoint('https://bridge.example/api/x'); r.setHttpMethod('post');
      r.setRequestHeader('Content-Type', 'text/plain'); r.setRequestHeader('content-type', 'application/json');
      r.setRequestBody('{"a":"\\u00e9"}'); r.setHttpTimeout(1234);
      var s = r.execute();
      [s.getStatusCode(), s.getBody(), s.haveError()].join('|')`);
    expect(result).toBe('202|{"status":"accepted"}|false');
    expect(requests.at(-1)).toEqual({
      method: 'POST',
      url: 'https://bridge.example/api/x',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
      timeoutMs: 1234,
    });
    const send = (path: string) =>
      glide.run<string>(`var r = new sn_ws.RESTMessageV2(); r.setEndpoint('https://bridge.example${path}'); r.setHttpMethod('post');
        var s = r.execute(); [s.getStatusCode(), s.haveError(), s.getErrorMessage()].join('|')`);
    expect(send('/busy')).toBe('503|true|Method failed: (/busy) with code: 503');
    expect(send('/down')).toBe('0|true|java.net.ConnectException: Connection refused');
    expect(() => send('/boom')).toThrow(/OutboundException: socket closed/);
    expect(() => glide.run("new sn_ws.RESTMessageV2().execute()")).toThrow(/no endpoint/);
    expect(() => glide.run("new sn_ws.RESTMessageV2('Bridge', 'post')")).toThrow(/outside the allowed Glide surface/);
  });

  it('records: getValue is null for empty and unknown fields; elements only offer changes()', () => {
    const current = makeRecord({
      table: 'incident',
      operation: 'update',
      values: { sys_id: 'a'.repeat(32), priority: '2', assigned_to: '' },
      display: { priority: '2 - High' },
      changed: ['priority'],
    });
    const seen = glide.run<unknown[]>(
      "[current.getTableName(), current.getUniqueValue(), current.getValue('priority'), current.getValue('assigned_to'), current.getValue('nope'), " +
        "current.getDisplayValue('priority'), current.getDisplayValue('state'), current.operation(), current.isNewRecord(), " +
        'current.priority.changes(), current.state.changes(), typeof current.nope, typeof current.priority.nil, typeof current.priority.toString]',
      { current },
    );
    expect(seen).toEqual(['incident', 'a'.repeat(32), '2', null, null, '2 - High', '', 'update', false, true, false, 'undefined', 'undefined', 'undefined']);
    expect(() => makeRecord({ table: 'incident', operation: 'insert', values: { nope: 'x' } })).toThrow(/not a column/);
  });
});
