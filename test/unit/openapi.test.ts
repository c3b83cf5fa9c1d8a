/**
 * Keeps openapi.yaml from drifting away from the code. No YAML parser is a dependency of the project,
 * and the function files cannot be imported without a Functions host, so both sides are read as text:
 * the `app.http` / `app.timer` registrations of src/functions/*.ts by regular expressions (resolving
 * route constants such as ROUTE and ADMIN_SEGMENT), and openapi.yaml by its indentation, which is
 * enough for the block-style mappings the document uses for its structure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../src/lib/core/errors.js';
import { ADMIN_SEGMENT } from '../../src/lib/http/routes.js';
import { VERSION } from '../../src/lib/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FUNCTIONS_DIR = join(ROOT, 'src/functions');
const SPEC_TEXT = readFileSync(join(ROOT, 'openapi.yaml'), 'utf8');
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

// ---------------------------------------------------------------------------------------------------
// The registrations, read from the TypeScript sources.

interface HttpRegistration {
  file: string;
  name: string;
  methods: string[];
  authLevel: string;
  /** The route as registered, e.g. `{area:regex(^admin$)}/instances/{instanceId}`. */
  route: string;
  /** The public path, e.g. `/api/admin/instances/{instanceId}`. */
  path: string;
}

interface TimerRegistration {
  file: string;
  name: string;
  schedule: string;
}

/** Constants imported by the function files; anything else a route uses must be declared in the file. */
const IMPORTED_CONSTANTS: Record<string, string> = { ADMIN_SEGMENT };

function resolveTemplate(text: string, constants: Record<string, string>, where: string): string {
  return text.replace(/\$\{\s*([A-Za-z_$][\w$]*)\s*\}/g, (_, name: string) => {
    const value = constants[name];
    if (value === undefined) throw new Error(`${where}: cannot resolve \${${name}}`);
    return value;
  });
}

/** `const NAME = '...'` and ``const NAME = `...${OTHER}...` `` declarations, in source order. */
function fileConstants(source: string, file: string): Record<string, string> {
  const constants = { ...IMPORTED_CONSTANTS };
  for (const m of source.matchAll(/^(?:export\s+)?const\s+([A-Z][A-Z0-9_]*)\s*=\s*(['`])(.*?)\2\s*;/gm)) {
    constants[m[1] ?? ''] = resolveTemplate(m[3] ?? '', constants, file);
  }
  return constants;
}

function routePrefix(): string {
  const host = JSON.parse(readFileSync(join(ROOT, 'host.json'), 'utf8')) as { extensions?: { http?: { routePrefix?: string } } };
  return host.extensions?.http?.routePrefix ?? 'api';
}

/**
 * The URL path a route answers: a parameter constrained to one literal (`{area:regex(^admin$)}`, the
 * work-around for the host's reserved `admin` prefix) is that literal; other constraints and optional
 * markers are dropped (`{id:int}` → `{id}`).
 */
function publicPath(route: string, prefix = routePrefix()): string {
  const segments = route.split('/').map((segment) => {
    const literal = /^\{\w+:regex\(\^([A-Za-z0-9_.~-]+)\$\)\}$/.exec(segment);
    if (literal) return literal[1] ?? '';
    return segment.replace(/\{(\w+)(?::[^}]*)?\??\}/g, '{$1}');
  });
  return `/${[prefix, ...segments].filter((s) => s !== '').join('/')}`;
}

function scanRegistrations(): { http: HttpRegistration[]; timers: TimerRegistration[] } {
  const http: HttpRegistration[] = [];
  const timers: TimerRegistration[] = [];
  for (const file of readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    const source = readFileSync(join(FUNCTIONS_DIR, file), 'utf8');
    const constants = fileConstants(source, file);
    const starts = [...source.matchAll(/app\.(http|timer)\(\s*'([^']+)'/g)];
    starts.forEach((start, i) => {
      const kind = start[1];
      const name = start[2] ?? '';
      const block = source.slice(start.index, starts[i + 1]?.index ?? source.length);
      const where = `${file} ${name}`;
      if (kind === 'timer') {
        const schedule = /schedule:\s*'([^']+)'/.exec(block)?.[1];
        if (!schedule) throw new Error(`${where}: no literal schedule`);
        timers.push({ file, name, schedule });
        return;
      }
      const methods = /methods:\s*\[([^\]]*)\]/.exec(block)?.[1];
      const authLevel = /authLevel:\s*'(\w+)'/.exec(block)?.[1];
      const route = /route:\s*(?:(['`])(.*?)\1|([A-Z][A-Z0-9_]*))\s*,/.exec(block);
      if (methods === undefined) throw new Error(`${where}: methods must be listed explicitly`);
      if (authLevel === undefined) throw new Error(`${where}: authLevel must be set explicitly`);
      if (!route) throw new Error(`${where}: no route`);
      const routeText = route[3] !== undefined ? constants[route[3]] : resolveTemplate(route[2] ?? '', constants, where);
      if (routeText === undefined) throw new Error(`${where}: cannot resolve route constant ${route[3]}`);
      http.push({
        file,
        name,
        methods: [...methods.matchAll(/'([A-Za-z]+)'/g)].map((m) => (m[1] ?? '').toLowerCase()),
        authLevel,
        route: routeText,
        path: publicPath(routeText),
      });
    });
  }
  return { http, timers };
}

// ---------------------------------------------------------------------------------------------------
// openapi.yaml, read as an indentation tree of mapping keys.

interface YamlNode {
  key: string;
  /** The text after `key:` on the same line ('' for a nested block). */
  value: string;
  indent: number;
  line: number;
  /** Whether the key opened a list item (`- key: value`). */
  listItem: boolean;
  parent: YamlNode | undefined;
  children: YamlNode[];
  /** Scalar list items directly under this key (`- VALUE`). */
  items: string[];
}

function unquote(text: string): string {
  const t = text.trim();
  return /^'.*'$|^".*"$/.test(t) ? t.slice(1, -1) : t;
}

/**
 * Builds the tree of mapping keys by indentation (a `- key:` list item counts as a key two columns in).
 * Lines of block scalars and flow collections are more indented than their key, so they end up below
 * it and never interfere with the structure read here.
 */
function parseYamlTree(text: string): YamlNode {
  const root: YamlNode = { key: '', value: '', indent: -1, line: 0, listItem: false, parent: undefined, children: [], items: [] };
  const stack: YamlNode[] = [root];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const m = /^( *)(- +)?(.*)$/.exec(raw);
    const spaces = m?.[1]?.length ?? 0;
    const dash = m?.[2] ?? '';
    const rest = m?.[3] ?? '';
    const indent = spaces + dash.length;
    while ((stack[stack.length - 1]?.indent ?? -1) >= (dash ? spaces + 1 : indent) && stack.length > 1) stack.pop();
    const parent = stack[stack.length - 1] ?? root;
    const keyMatch = /^('[^']*'|"[^"]*"|[^\s'"#{[][^:]*?):(?:\s+(.*))?$/.exec(rest);
    if (!keyMatch) {
      if (dash) parent.items.push(unquote(rest));
      return;
    }
    const node: YamlNode = {
      key: unquote(keyMatch[1] ?? ''),
      value: (keyMatch[2] ?? '').trim(),
      indent,
      line: index + 1,
      listItem: dash !== '',
      parent,
      children: [],
      items: [],
    };
    parent.children.push(node);
    stack.push(node);
  });
  return root;
}

function child(node: YamlNode | undefined, key: string): YamlNode | undefined {
  return node?.children.find((c) => c.key === key);
}

function at(node: YamlNode | undefined, ...keys: string[]): YamlNode | undefined {
  return keys.reduce<YamlNode | undefined>((n, k) => child(n, k), node);
}

function* descendants(node: YamlNode): Generator<YamlNode> {
  for (const c of node.children) {
    yield c;
    yield* descendants(c);
  }
}

/** The problem codes a response lists: every `code:` property's one-line `enum: [A, B]`. */
function problemCodesOf(response: YamlNode): string[] {
  const codes: string[] = [];
  for (const node of descendants(response)) {
    if (node.key !== 'enum' || node.parent?.key !== 'code') continue;
    const flow = /^\[([A-Z0-9_,\s]*)\]$/.exec(node.value);
    if (!flow) throw new Error(`openapi.yaml:${node.line}: write a problem code enum as one flow list [A, B]`);
    codes.push(...(flow[1] ?? '').split(',').map((c) => c.trim()).filter((c) => c !== ''));
  }
  return codes;
}

interface SpecOperation {
  path: string;
  method: string;
  node: YamlNode;
  operationId: string | undefined;
  security: string[];
}

const spec = parseYamlTree(SPEC_TEXT);
const componentResponses = at(spec, 'components', 'responses');

function operations(): SpecOperation[] {
  const result: SpecOperation[] = [];
  for (const pathNode of child(spec, 'paths')?.children ?? []) {
    for (const op of pathNode.children.filter((c) => HTTP_METHODS.has(c.key))) {
      const security = child(op, 'security');
      result.push({
        path: pathNode.key,
        method: op.key,
        node: op,
        operationId: child(op, 'operationId')?.value,
        security: security ? security.children.map((c) => c.key) : [],
      });
    }
  }
  return result;
}

/** A response, following a `$ref` into components/responses. */
function resolveResponse(response: YamlNode): YamlNode {
  const ref = child(response, '$ref')?.value;
  if (!ref) return response;
  const name = /^'?#\/components\/responses\/([\w-]+)'?$/.exec(ref)?.[1];
  const target = name === undefined ? undefined : child(componentResponses, name);
  if (!target) throw new Error(`openapi.yaml:${response.line}: unresolved response ${ref}`);
  return target;
}

// ---------------------------------------------------------------------------------------------------

const registrations = scanRegistrations();
const specOperations = operations();

describe('openapi.yaml matches the function registrations', () => {
  it('finds the registrations and the operations', () => {
    expect(registrations.http.length).toBeGreaterThanOrEqual(19);
    expect(registrations.timers.length).toBeGreaterThanOrEqual(2);
    expect(specOperations.length).toBeGreaterThanOrEqual(19);
    expect(child(spec, 'openapi')?.value).toMatch(/^3\.1\.\d+$/);
    expect(at(spec, 'info', 'version')?.value).toBe(VERSION);
  });

  it('maps routes to their public paths', () => {
    expect(publicPath(`${ADMIN_SEGMENT}/instances/{instanceId}`, 'api')).toBe('/api/admin/instances/{instanceId}');
    expect(publicPath('items/{id:int}/{name?}', 'api')).toBe('/api/items/{id}/{name}');
    expect(publicPath('health', '')).toBe('/health');
  });

  it.each(registrations.http.map((r) => [`${r.methods.join(',').toUpperCase()} ${r.path} (${r.name})`, r] as const))(
    'documents %s',
    (_label, registration) => {
      for (const method of registration.methods) {
        const op = specOperations.find((o) => o.path === registration.path && o.method === method);
        expect(op, `${method.toUpperCase()} ${registration.path} (route '${registration.route}' in ${registration.file})`).toBeDefined();
        expect(op?.operationId).toBe(registration.name);
        if (registration.authLevel === 'anonymous') {
          expect(op?.security).not.toContain('functionKey');
        } else {
          expect(op?.security).toContain('functionKey');
        }
      }
    },
  );

  it('documents no operation that is not registered', () => {
    const registered = new Set(registrations.http.flatMap((r) => r.methods.map((m) => `${m} ${r.path}`)));
    const extra = specOperations.map((o) => `${o.method} ${o.path}`).filter((k) => !registered.has(k));
    expect(extra).toEqual([]);
  });

  it('lists every timer with its schedule under x-timers', () => {
    const documented: { name?: string; schedule?: string }[] = [];
    for (const node of child(spec, 'x-timers')?.children ?? []) {
      if (node.listItem || documented.length === 0) documented.push({});
      const current = documented[documented.length - 1] ?? {};
      if (node.key === 'name' || node.key === 'schedule') current[node.key] = unquote(node.value);
    }
    expect(documented).toEqual(
      expect.arrayContaining(registrations.timers.map((t) => expect.objectContaining({ name: t.name, schedule: t.schedule }))),
    );
    expect(documented).toHaveLength(registrations.timers.length);
  });
});

describe('openapi.yaml documents the problem codes', () => {
  it('lists exactly the codes of PROBLEMS in ProblemCode', () => {
    const documented = at(spec, 'components', 'schemas', 'ProblemCode', 'enum')?.items ?? [];
    expect([...documented].sort()).toEqual(Object.keys(PROBLEMS).sort());
  });

  it('mentions every problem code of PROBLEMS', () => {
    for (const code of Object.keys(PROBLEMS)) expect(SPEC_TEXT, code).toContain(code);
  });

  it.each(specOperations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))(
    '%s: each error status lists codes of that status, as problem+json',
    (label, op) => {
      for (const statusNode of child(op.node, 'responses')?.children ?? []) {
        const status = Number(statusNode.key);
        if (!(status >= 400)) continue;
        const where = `${label} ${status} (openapi.yaml:${statusNode.line})`;
        const response = resolveResponse(statusNode);
        const content = child(response, 'content');
        if (!content) {
          // Only the Functions host's own empty 401 on a key-protected route has no body.
          expect(status, where).toBe(401);
          expect(op.security, where).toContain('functionKey');
          continue;
        }
        const problem = child(content, 'application/problem+json');
        if (!problem) {
          // The health report is the one non-problem error body.
          expect(at(content, 'application/json', 'schema', '$ref')?.value, where).toMatch(/#\/components\/schemas\/Health'?$/);
          continue;
        }
        const codes = problemCodesOf(response);
        expect(codes.length, `${where}: no problem codes listed`).toBeGreaterThan(0);
        for (const code of codes) {
          expect(Object.keys(PROBLEMS), `${where}: unknown code ${code}`).toContain(code);
          expect((PROBLEMS as Record<string, { status: number }>)[code]?.status, `${where}: ${code}`).toBe(status);
        }
        if (status === 429 || status === 503) expect(at(response, 'headers', 'Retry-After'), `${where}: Retry-After`).toBeDefined();
      }
    },
  );
});
