/**
 * HTTP trigger route templates, matched the way the Functions host does it.
 *
 * The host registers every HTTP function as an ASP.NET Core route "{routePrefix}/{route}" (route defaults to the
 * function name) with an HTTP-method constraint, ordered by ASP.NET route precedence, and takes the first route
 * whose template AND method constraint match; if none does the answer is 404 (there is no 405: a method
 * mismatch is just a failed constraint). See
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#customize-the-http-endpoint
 * and https://learn.microsoft.com/aspnet/core/fundamentals/routing#route-constraints.
 *
 * Supported template syntax: literal segments (matched case-insensitively), `{name}`, `{name?}` (optional),
 * `{name=default}`, `{*rest}` / `{**rest}` (catch-all), inline constraints chained with `:` (int, long, bool,
 * alpha, guid, decimal, double, float, datetime, length(n) / length(min,max), minlength, maxlength, min, max,
 * range, regex(...), required), complex segments such as `{name}.{ext}`, and `{{` / `}}` for literal braces.
 *
 * Pure functions only: no I/O, so the module is unit-tested on its own.
 */

export class RouteTemplateError extends Error {
  override name = 'RouteTemplateError';
}

export type ConstraintCheck = (value: string) => boolean;

export interface LiteralPart {
  kind: 'literal';
  text: string;
}

export interface ParameterPart {
  kind: 'parameter';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  /** Constraint texts as written, e.g. ["int", "min(1)"]. */
  constraints: string[];
  checks: ConstraintCheck[];
}

export type TemplatePart = LiteralPart | ParameterPart;

export interface TemplateSegment {
  parts: TemplatePart[];
  /** For complex (multi-part) segments: the compiled matcher, and the one without a trailing optional part. */
  regex?: { full: RegExp; short?: RegExp };
}

export interface RouteTemplate {
  template: string;
  segments: TemplateSegment[];
  /** ASP.NET inbound precedence digits, one per segment; lower sorts first. */
  precedence: number[];
}

// ---------------------------------------------------------------------------------------------------------------
// Constraints (ASP.NET Core inline route constraints; values are compared culture-invariantly).

const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

function parseInteger(value: string): bigint | undefined {
  // int.TryParse(NumberStyles.Integer) allows surrounding whitespace and a leading sign.
  const trimmed = value.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return undefined;
  return BigInt(trimmed);
}

function integerIn(min: bigint, max: bigint): ConstraintCheck {
  return (value) => {
    const n = parseInteger(value);
    return n !== undefined && n >= min && n <= max;
  };
}

const FLOAT_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const DECIMAL_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/;
const GUID_RES = [
  /^[0-9a-f]{32}$/i, // N
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // D
  /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i, // B
  /^\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$/i, // P
];

function splitArgs(args: string | undefined, constraint: string, expected: number[]): string[] {
  const list = args === undefined ? [] : args.split(',').map((a) => a.trim());
  if (!expected.includes(list.length)) {
    throw new RouteTemplateError(`Route constraint '${constraint}' expects ${expected.join(' or ')} argument(s).`);
  }
  return list;
}

function integerArg(arg: string, constraint: string): bigint {
  const n = parseInteger(arg);
  if (n === undefined) throw new RouteTemplateError(`Route constraint '${constraint}' has a non-integer argument.`);
  return n;
}

/** Build the check for one inline constraint text such as `int`, `length(2,5)`, `regex(^a+$)`. */
export function compileConstraint(text: string): ConstraintCheck {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\(([\s\S]*)\))?$/.exec(text);
  if (!m) throw new RouteTemplateError(`Invalid route constraint '${text}'.`);
  const name = m[1]!.toLowerCase();
  const args = m[2];
  switch (name) {
    case 'int':
      splitArgs(args, text, [0]);
      return integerIn(INT32_MIN, INT32_MAX);
    case 'long':
      splitArgs(args, text, [0]);
      return integerIn(INT64_MIN, INT64_MAX);
    case 'bool':
      splitArgs(args, text, [0]);
      return (v) => /^\s*(true|false)\s*$/i.test(v);
    case 'alpha':
      splitArgs(args, text, [0]);
      return (v) => /^[a-z]*$/i.test(v);
    case 'guid':
      splitArgs(args, text, [0]);
      return (v) => GUID_RES.some((re) => re.test(v.trim()));
    case 'decimal':
      splitArgs(args, text, [0]);
      return (v) => DECIMAL_RE.test(v);
    case 'double':
    case 'float':
      splitArgs(args, text, [0]);
      return (v) => FLOAT_RE.test(v);
    case 'datetime':
      splitArgs(args, text, [0]);
      return (v) => v.trim() !== '' && !Number.isNaN(Date.parse(v));
    case 'required':
      splitArgs(args, text, [0]);
      return (v) => v !== '';
    case 'length': {
      const list = splitArgs(args, text, [1, 2]).map((a) => Number(integerArg(a, text)));
      const [min, max] = list.length === 1 ? [list[0]!, list[0]!] : [list[0]!, list[1]!];
      return (v) => v.length >= min && v.length <= max;
    }
    case 'minlength': {
      const min = Number(integerArg(splitArgs(args, text, [1])[0]!, text));
      return (v) => v.length >= min;
    }
    case 'maxlength': {
      const max = Number(integerArg(splitArgs(args, text, [1])[0]!, text));
      return (v) => v.length <= max;
    }
    case 'min': {
      const min = integerArg(splitArgs(args, text, [1])[0]!, text);
      return integerIn(min, INT64_MAX);
    }
    case 'max': {
      const max = integerArg(splitArgs(args, text, [1])[0]!, text);
      return integerIn(INT64_MIN, max);
    }
    case 'range': {
      const [min, max] = splitArgs(args, text, [2]).map((a) => integerArg(a, text)) as [bigint, bigint];
      return integerIn(min, max);
    }
    case 'regex': {
      if (args === undefined || args === '') throw new RouteTemplateError(`Route constraint '${text}' needs a pattern.`);
      let re: RegExp;
      try {
        // RegexRouteConstraint: IgnoreCase | CultureInvariant, IsMatch (NOT implicitly anchored).
        re = new RegExp(args, 'i');
      } catch (err) {
        throw new RouteTemplateError(`Invalid regex in route constraint '${text}': ${(err as Error).message}`);
      }
      return (v) => re.test(v);
    }
    default:
      throw new RouteTemplateError(`Unknown route constraint '${name}' in '${text}'.`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

const PARAM_NAME_RE = /^[^{}/?*=:]+$/;

function parseParameter(body: string, template: string): ParameterPart {
  let rest = body;
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }

  // name := up to the first ':', '?', '=' (constraints may contain those characters, so scan carefully).
  let i = 0;
  while (i < rest.length && rest[i] !== ':' && rest[i] !== '?' && rest[i] !== '=') i++;
  const name = rest.slice(0, i).trim();
  if (!name || !PARAM_NAME_RE.test(name)) {
    throw new RouteTemplateError(`Invalid route parameter '{${body}}' in template '${template}'.`);
  }

  const constraints: string[] = [];
  while (rest[i] === ':') {
    i++;
    const start = i;
    while (i < rest.length && /[A-Za-z0-9_]/.test(rest[i]!)) i++;
    if (rest[i] === '(') {
      // Argument list: balanced parentheses, honouring backslash escapes (regex constraints).
      let depth = 0;
      for (; i < rest.length; i++) {
        const ch = rest[i];
        if (ch === '\\') {
          i++;
          continue;
        }
        if (ch === '(') depth++;
        else if (ch === ')') {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
        }
      }
      if (depth !== 0) throw new RouteTemplateError(`Unbalanced parentheses in route parameter '{${body}}'.`);
    }
    const constraint = rest.slice(start, i);
    if (!constraint) throw new RouteTemplateError(`Empty route constraint in '{${body}}'.`);
    constraints.push(constraint);
  }

  let optional = false;
  let defaultValue: string | undefined;
  if (rest[i] === '?') {
    optional = true;
    i++;
  } else if (rest[i] === '=') {
    defaultValue = rest.slice(i + 1);
    i = rest.length;
  }
  if (i !== rest.length) {
    throw new RouteTemplateError(`Invalid route parameter '{${body}}' in template '${template}'.`);
  }
  if (catchAll && optional) {
    throw new RouteTemplateError(`A catch-all parameter cannot be marked optional: '{${body}}'.`);
  }
  return { kind: 'parameter', name, optional, catchAll, defaultValue, constraints, checks: constraints.map(compileConstraint) };
}

/** Split one template segment into literal and parameter parts (handles `{{` / `}}` escapes). */
function parseSegment(text: string, template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '{' && text[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && text[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '{') {
      // Find the closing brace; inside a parameter "}}" is an escaped brace (regex quantifiers).
      let j = i + 1;
      let body = '';
      for (; j < text.length; j++) {
        if (text[j] === '}' && text[j + 1] === '}') {
          body += '}';
          j++;
        } else if (text[j] === '{' && text[j + 1] === '{') {
          body += '{';
          j++;
        } else if (text[j] === '}') {
          break;
        } else {
          body += text[j];
        }
      }
      if (j >= text.length) throw new RouteTemplateError(`Unclosed '{' in route template '${template}'.`);
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      parts.push(parseParameter(body, template));
      i = j + 1;
    } else if (ch === '}') {
      throw new RouteTemplateError(`Unmatched '}' in route template '${template}'.`);
    } else {
      literal += ch;
      i++;
    }
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  for (const part of parts) {
    if (part.kind === 'literal' && part.text.includes('?')) {
      throw new RouteTemplateError(`A route template cannot contain '?' outside a parameter: '${template}'.`);
    }
  }
  return parts;
}

/** Split a template on '/' outside of braces (a regex constraint may contain '/'). */
function splitTemplate(template: string): string[] {
  const out: string[] = [];
  let current = '';
  let inParameter = false;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if ((ch === '{' || ch === '}') && template[i + 1] === ch) {
      // "{{" and "}}" are escaped braces everywhere; keep them for parseSegment.
      current += ch + ch;
      i++;
      continue;
    }
    if (ch === '{') inParameter = true;
    else if (ch === '}') inParameter = false;
    if (ch === '/' && !inParameter) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function compileComplexSegment(parts: TemplatePart[], template: string): { full: RegExp; short?: RegExp } {
  let source = '';
  let shortSource: string | undefined;
  parts.forEach((part, index) => {
    if (part.kind === 'literal') {
      source += escapeRegExp(part.text);
      return;
    }
    if (part.catchAll) throw new RouteTemplateError(`A catch-all parameter must be a whole segment in '${template}'.`);
    const previous = parts[index - 1];
    const isLast = index === parts.length - 1;
    if (part.optional) {
      // ASP.NET allows an optional parameter in a complex segment only as the last part after a literal
      // (e.g. "{name}.{ext?}"); without it the separator goes too. The full form is tried first.
      if (!isLast || !previous || previous.kind !== 'literal') {
        throw new RouteTemplateError(`Optional parameter '${part.name}' is not allowed there in '${template}'.`);
      }
      shortSource = source.slice(0, source.length - escapeRegExp(previous.text).length);
    } else if (previous && previous.kind === 'parameter') {
      throw new RouteTemplateError(`Two parameters must be separated by a literal in '${template}'.`);
    }
    // Greedy: ASP.NET matches complex segments right-to-left, so earlier parameters take the longest value.
    source += '(.+)';
  });
  return {
    full: new RegExp(`^${source}$`, 'i'),
    short: shortSource === undefined ? undefined : new RegExp(`^${shortSource}$`, 'i'),
  };
}

function precedenceDigit(segment: TemplateSegment): number {
  // Microsoft.AspNetCore.Routing RoutePrecedence.ComputeInbound: 1 literal, 2 multi-part or constrained
  // parameter, 3 parameter, 4 constrained catch-all, 5 catch-all.
  if (segment.parts.length > 1) return 2;
  const part = segment.parts[0]!;
  if (part.kind === 'literal') return 1;
  const digit = part.catchAll ? 5 : 3;
  return part.constraints.length > 0 ? digit - 1 : digit;
}

/** Parse and validate a route template (without the route prefix). Throws RouteTemplateError. */
export function parseRouteTemplate(template: string): RouteTemplate {
  let text = template.trim();
  if (text.startsWith('~/')) text = text.slice(2);
  text = text.replace(/^\/+/, '').replace(/\/+$/, '');
  const rawSegments = text === '' ? [] : splitTemplate(text);
  const segments: TemplateSegment[] = [];
  const names = new Set<string>();
  rawSegments.forEach((raw, index) => {
    if (raw === '') throw new RouteTemplateError(`Route template '${template}' has an empty segment.`);
    const parts = parseSegment(raw, template);
    const segment: TemplateSegment = { parts };
    for (const part of parts) {
      if (part.kind !== 'parameter') continue;
      const key = part.name.toLowerCase();
      if (names.has(key)) throw new RouteTemplateError(`Route parameter '${part.name}' appears twice in '${template}'.`);
      names.add(key);
      if (part.catchAll && (index !== rawSegments.length - 1 || parts.length > 1)) {
        throw new RouteTemplateError(`A catch-all parameter must be the last segment of '${template}'.`);
      }
    }
    if (parts.length > 1) segment.regex = compileComplexSegment(parts, template);
    segments.push(segment);
  });

  // An optional (or defaulted) segment may only be followed by optional/defaulted/catch-all segments.
  let sawOptional = false;
  for (const segment of segments) {
    const single = segment.parts.length === 1 ? segment.parts[0] : undefined;
    const skippable =
      single?.kind === 'parameter' && (single.optional || single.catchAll || single.defaultValue !== undefined);
    if (sawOptional && !skippable) {
      throw new RouteTemplateError(`Only the last segments of '${template}' may be optional.`);
    }
    if (skippable) sawOptional = true;
  }

  return { template: text, segments, precedence: segments.map(precedenceDigit) };
}

/** Join host.json routePrefix and a function route the way the host does ("api" + "users/{id}"). */
export function joinRoutePrefix(prefix: string, route: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  const r = route.trim().replace(/^~?\/+/, '').replace(/\/+$/, '');
  if (!p) return r;
  if (!r) return p;
  return `${p}/${r}`;
}

/**
 * Split a request path into decoded segments. ASP.NET decodes the path except `%2F`, which stays encoded so it
 * cannot create a segment; we do the same. One trailing slash is ignored ("/api/items/" matches "api/items").
 */
export function splitRequestPath(pathname: string): string[] {
  let path = pathname.replace(/^\/+/, '');
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') return [];
  return path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment.replace(/%2F/gi, '%252F'));
    } catch {
      return segment; // malformed escapes are passed through undecoded
    }
  });
}

function checkValue(part: ParameterPart, value: string): boolean {
  return part.checks.every((check) => check(value));
}

/**
 * Match decoded path segments against a template. Returns the route values (parameter name → value, including
 * defaults; absent optional parameters are omitted), or undefined for no match.
 */
export function matchRouteTemplate(route: RouteTemplate, pathSegments: readonly string[]): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  const segments = route.segments;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const single = segment.parts.length === 1 ? segment.parts[0]! : undefined;

    if (single?.kind === 'parameter' && single.catchAll) {
      const rest = pathSegments.slice(i).join('/');
      if (rest !== '') {
        if (!checkValue(single, rest)) return undefined;
        values[single.name] = rest;
      } else if (single.defaultValue !== undefined) {
        values[single.name] = single.defaultValue;
      }
      return values;
    }

    const value = pathSegments[i];
    if (value === undefined) {
      // Ran out of path: the remaining template segments must all be skippable.
      if (single?.kind !== 'parameter') return undefined;
      if (single.defaultValue !== undefined) values[single.name] = single.defaultValue;
      else if (!single.optional) return undefined;
      continue;
    }

    if (single?.kind === 'literal') {
      if (single.text.toLowerCase() !== value.toLowerCase()) return undefined;
    } else if (single?.kind === 'parameter') {
      if (value === '' || !checkValue(single, value)) return undefined;
      values[single.name] = value;
    } else {
      const m = segment.regex!.full.exec(value) ?? segment.regex!.short?.exec(value);
      if (!m) return undefined;
      let group = 1;
      for (const part of segment.parts) {
        if (part.kind !== 'parameter') continue;
        const captured = m[group++];
        if (captured === undefined) continue; // optional trailing part absent
        if (!checkValue(part, captured)) return undefined;
        values[part.name] = captured;
      }
    }
  }
  if (pathSegments.length > segments.length) return undefined;
  return values;
}

/** Negative if a should be tried before b (ASP.NET inbound precedence: compare digit by digit, as decimals). */
export function comparePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const diff = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export interface RouteEntry<T> {
  template: RouteTemplate;
  /** Upper-case methods; empty = any method. */
  methods: string[];
  value: T;
}

export interface RouteMatch<T> {
  entry: RouteEntry<T>;
  params: Record<string, string>;
}

/** Ordered route table: precedence first, then registration order (stable sort). */
export class RouteTable<T> {
  #entries: RouteEntry<T>[] = [];

  add(template: string, methods: readonly string[], value: T): RouteEntry<T> {
    const entry: RouteEntry<T> = {
      template: parseRouteTemplate(template),
      methods: methods.map((m) => m.toUpperCase()),
      value,
    };
    this.#entries.push(entry);
    this.#entries.sort((x, y) => comparePrecedence(x.template, y.template));
    return entry;
  }

  get entries(): readonly RouteEntry<T>[] {
    return this.#entries;
  }

  /** First entry whose template and method both match; undefined means 404. */
  match(method: string, pathname: string): RouteMatch<T> | undefined {
    const segments = splitRequestPath(pathname);
    const upper = method.toUpperCase();
    for (const entry of this.#entries) {
      if (entry.methods.length > 0 && !entry.methods.includes(upper)) continue;
      const params = matchRouteTemplate(entry.template, segments);
      if (params) return { entry, params };
    }
    return undefined;
  }
}
