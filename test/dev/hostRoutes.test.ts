import { describe, expect, it } from 'vitest';
import {
  compileConstraint,
  joinRoutePrefix,
  matchRouteTemplate,
  parseRouteTemplate,
  RouteTable,
  RouteTemplateError,
  splitRequestPath,
} from '../../dev/host/routes.js';

const match = (template: string, path: string) => matchRouteTemplate(parseRouteTemplate(template), splitRequestPath(path));

describe('parseRouteTemplate', () => {
  it('parses literals, parameters, optional, defaults, catch-all and constraints', () => {
    const t = parseRouteTemplate('/api/users/{id:int:min(1)}/{tab?}');
    expect(t.template).toBe('api/users/{id:int:min(1)}/{tab?}');
    expect(t.segments).toHaveLength(4);
    const id = t.segments[2]!.parts[0]!;
    expect(id).toMatchObject({ kind: 'parameter', name: 'id', constraints: ['int', 'min(1)'], optional: false });
    expect(t.segments[3]!.parts[0]).toMatchObject({ kind: 'parameter', name: 'tab', optional: true });
    expect(parseRouteTemplate('files/{*rest}').segments[1]!.parts[0]).toMatchObject({ catchAll: true, name: 'rest' });
    expect(parseRouteTemplate('files/{**rest}').segments[1]!.parts[0]).toMatchObject({ catchAll: true, name: 'rest' });
    expect(parseRouteTemplate('x/{lang=en}').segments[1]!.parts[0]).toMatchObject({ defaultValue: 'en' });
  });

  it('keeps regex constraints intact, including slashes, colons and escaped braces', () => {
    const t = parseRouteTemplate('codes/{code:regex(^[a-z]{{2}}:\\d+/x$)}');
    expect(t.segments).toHaveLength(2);
    expect(t.segments[1]!.parts[0]).toMatchObject({ constraints: ['regex(^[a-z]{2}:\\d+/x$)'] });
    expect(match('codes/{code:regex(^[a-z]{{2}}-\\d+$)}', '/codes/ab-12')).toEqual({ code: 'ab-12' });
    expect(match('codes/{code:regex(^[a-z]{{2}}-\\d+$)}', '/codes/abc-12')).toBeUndefined();
  });

  it('rejects invalid templates', () => {
    for (const bad of [
      'a/{id',
      'a/id}',
      'a/{id}/{id}',
      'a/{id:nope}',
      'a/{x?}/b',
      'a/{*rest}/b',
      'a/{*rest?}',
      'a//b',
      'a/b?c',
      'a/{x:length(a)}',
      'a/{x:regex(()}',
      'a/{x}{y}',
      'a/{}',
    ]) {
      expect(() => parseRouteTemplate(bad), bad).toThrow(RouteTemplateError);
    }
  });
});

describe('matchRouteTemplate', () => {
  it('matches literals case-insensitively and ignores one trailing slash', () => {
    expect(match('api/Sessions/current', '/API/sessions/CURRENT')).toEqual({});
    expect(match('api/sessions', '/api/sessions/')).toEqual({});
    expect(match('api/sessions', '/api/sessions/x')).toBeUndefined();
    expect(match('api/sessions/x', '/api/sessions')).toBeUndefined();
  });

  it('decodes parameter values but keeps %2F encoded (as ASP.NET does)', () => {
    expect(match('u/{name}', '/u/J%C3%BCrgen%20X')).toEqual({ name: 'Jürgen X' });
    expect(match('u/{name}', '/u/a%2Fb')).toEqual({ name: 'a%2Fb' });
    expect(match('u/{name}', '/u/%E0%A4%A')).toEqual({ name: '%E0%A4%A' });
  });

  it('handles optional, default and catch-all parameters', () => {
    expect(match('opt/{name?}', '/opt')).toEqual({});
    expect(match('opt/{name?}', '/opt/x')).toEqual({ name: 'x' });
    expect(match('lang/{lang=en}', '/lang')).toEqual({ lang: 'en' });
    expect(match('lang/{lang=en}', '/lang/fr')).toEqual({ lang: 'fr' });
    expect(match('files/{*path}', '/files')).toEqual({});
    expect(match('files/{*path}', '/files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(match('{*all}', '/anything/at/all')).toEqual({ all: 'anything/at/all' });
    expect(match('', '/')).toEqual({});
  });

  it('matches complex segments', () => {
    expect(match('files/{name}.{ext}', '/files/report.final.pdf')).toEqual({ name: 'report.final', ext: 'pdf' });
    expect(match('files/{name}.{ext?}', '/files/readme')).toEqual({ name: 'readme' });
    expect(match('files/{name}.{ext?}', '/files/readme.md')).toEqual({ name: 'readme', ext: 'md' });
    expect(match('v{version:int}/x', '/V2/x')).toEqual({ version: '2' });
    expect(match('v{version:int}/x', '/vx/x')).toBeUndefined();
  });
});

describe('constraints', () => {
  const ok = (c: string, v: string) => compileConstraint(c)(v);

  it('int and long respect their ranges', () => {
    expect(ok('int', '42')).toBe(true);
    expect(ok('int', '-7')).toBe(true);
    expect(ok('int', '2147483647')).toBe(true);
    expect(ok('int', '2147483648')).toBe(false);
    expect(ok('int', '4.2')).toBe(false);
    expect(ok('int', 'abc')).toBe(false);
    expect(ok('long', '2147483648')).toBe(true);
    expect(ok('long', '9223372036854775808')).toBe(false);
  });

  it('alpha, bool, guid, decimal, double, datetime', () => {
    expect(ok('alpha', 'AbC')).toBe(true);
    expect(ok('alpha', 'ab1')).toBe(false);
    expect(ok('bool', 'TRUE')).toBe(true);
    expect(ok('bool', 'yes')).toBe(false);
    expect(ok('guid', '3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBe(true);
    expect(ok('guid', '3F2504E04F8911D39A0C0305E82C3301')).toBe(true);
    expect(ok('guid', '{3f2504e0-4f89-11d3-9a0c-0305e82c3301}')).toBe(true);
    expect(ok('guid', '3f2504e0-4f89-11d3-9a0c-0305e82c330')).toBe(false);
    expect(ok('decimal', '12.50')).toBe(true);
    expect(ok('decimal', '1e5')).toBe(false);
    expect(ok('double', '1e5')).toBe(true);
    expect(ok('datetime', '2024-02-29')).toBe(true);
    expect(ok('datetime', 'not a date')).toBe(false);
  });

  it('length, minlength, maxlength, min, max, range', () => {
    expect(ok('length(3)', 'abc')).toBe(true);
    expect(ok('length(3)', 'ab')).toBe(false);
    expect(ok('length(2,4)', 'abcd')).toBe(true);
    expect(ok('length(2,4)', 'abcde')).toBe(false);
    expect(ok('minlength(2)', 'a')).toBe(false);
    expect(ok('maxlength(2)', 'ab')).toBe(true);
    expect(ok('min(10)', '9')).toBe(false);
    expect(ok('max(10)', '10')).toBe(true);
    expect(ok('range(1,5)', '5')).toBe(true);
    expect(ok('range(1,5)', '6')).toBe(false);
    expect(ok('range(1,5)', 'x')).toBe(false);
  });

  it('regex is case-insensitive and not implicitly anchored (RegexRouteConstraint)', () => {
    expect(ok('regex(\\d+)', 'a1b')).toBe(true);
    expect(ok('regex(^\\d+$)', 'a1b')).toBe(false);
    expect(ok('regex(^abc$)', 'ABC')).toBe(true);
  });
});

describe('RouteTable', () => {
  it('tries literal segments before parameters, whatever the registration order', () => {
    const table = new RouteTable<string>();
    table.add('api/sessions/{sid}', ['GET'], 'byId');
    table.add('api/sessions/current', ['GET'], 'current');
    expect(table.match('GET', '/api/sessions/current')?.entry.value).toBe('current');
    expect(table.match('GET', '/api/sessions/other')).toMatchObject({ entry: { value: 'byId' }, params: { sid: 'other' } });
  });

  it('orders constrained parameters before plain ones, and catch-alls last', () => {
    const table = new RouteTable<string>();
    table.add('api/{*rest}', ['GET'], 'catchAll');
    table.add('api/items/{name}', ['GET'], 'name');
    table.add('api/items/{id:int}', ['GET'], 'id');
    expect(table.match('GET', '/api/items/5')?.entry.value).toBe('id');
    expect(table.match('GET', '/api/items/five')?.entry.value).toBe('name');
    expect(table.match('GET', '/api/other/thing')?.entry.value).toBe('catchAll');
    expect(table.entries.map((e) => e.value)).toEqual(['id', 'name', 'catchAll']);
  });

  it('keeps registration order between equal precedences', () => {
    const table = new RouteTable<string>();
    table.add('api/{a}', ['GET'], 'first');
    table.add('api/{b}', ['GET'], 'second');
    expect(table.match('GET', '/api/x')?.entry.value).toBe('first');
  });

  it('a method mismatch falls through to the next route, and finally to no match (404)', () => {
    const table = new RouteTable<string>();
    table.add('api/things/{id}', ['get'], 'get');
    table.add('api/things/{id}', ['PUT', 'PATCH'], 'write');
    expect(table.match('get', '/api/things/1')?.entry.value).toBe('get');
    expect(table.match('PATCH', '/api/things/1')?.entry.value).toBe('write');
    expect(table.match('DELETE', '/api/things/1')).toBeUndefined();
    expect(table.match('HEAD', '/api/things/1')).toBeUndefined();
  });
});

describe('joinRoutePrefix', () => {
  it('joins prefix and route, allowing an empty prefix', () => {
    expect(joinRoutePrefix('api', 'hello')).toBe('api/hello');
    expect(joinRoutePrefix('/api/', '/hello/')).toBe('api/hello');
    expect(joinRoutePrefix('', 'hello')).toBe('hello');
    expect(joinRoutePrefix('api', '')).toBe('api');
    expect(joinRoutePrefix('api', '~/x')).toBe('api/x');
  });
});
