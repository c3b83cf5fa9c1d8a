/**
 * Reads infra/**\/*.bicep with the tree-sitter Bicep grammar (tree-sitter-bicep's wasm in web-tree-sitter),
 * since the Bicep CLI cannot be installed here. The grammar knows Bicep's syntax, not Azure's types:
 * these helpers find declarations and literal values; whether a property exists on a resource type is
 * for `bicep build` to say.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const infraDir = path.join(repoRoot, 'infra');

export interface BicepFile {
  /** Relative to the repository, with forward slashes: `infra/app/api.bicep`. */
  rel: string;
  source: string;
  tree: Tree;
}

let parser: Promise<Parser> | undefined;
function bicepParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
    const p = new Parser();
    p.setLanguage(await Language.load(wasm));
    return p;
  })();
  return parser;
}

export function bicepPaths(dir = infraDir): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.bicep'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

export async function parseBicep(file: string): Promise<BicepFile> {
  const source = readFileSync(file, 'utf8');
  const tree = (await bicepParser()).parse(source);
  if (!tree) throw new Error(`tree-sitter returned no tree for ${file}`);
  return { rel: path.relative(repoRoot, file).split(path.sep).join('/'), source, tree };
}

export async function loadInfra(): Promise<BicepFile[]> {
  return Promise.all(bicepPaths().map(parseBicep));
}

/** ERROR and MISSING nodes, as `file:line:column` lines a person can jump to. */
export function syntaxProblems(file: BicepFile): string[] {
  const problems: string[] = [];
  const visit = (node: Node) => {
    if (node.isError || node.isMissing) {
      const { row, column } = node.startPosition;
      const what = node.isMissing ? `MISSING ${node.type}` : `ERROR near ${JSON.stringify(node.text.slice(0, 60))}`;
      problems.push(`${file.rel}:${row + 1}:${column + 1}: ${what}`);
    }
    for (const child of node.children) if (child) visit(child);
  };
  visit(file.tree.rootNode);
  return problems;
}

export interface Declaration {
  kind: 'resource' | 'module';
  symbol: string;
  /** `Microsoft.Web/sites@2024-04-01`, or the module path `app/api.bicep` / `br/public:avm/...:1.2.3`. */
  target: string;
  /** The resource or module body; for a conditional or a loop, the object inside it. */
  body: Node | undefined;
  conditional: boolean;
  loop: boolean;
  /** `resource x '…' existing = {…}`: a reference, not a declaration of a new resource. */
  existing: boolean;
  file: BicepFile;
}

/** The resource type without its API version: `Microsoft.Web/sites`. */
export const resourceType = (d: Declaration): string => d.target.split('@')[0] ?? d.target;

export function declarations(file: BicepFile): Declaration[] {
  const found: Declaration[] = [];
  for (const node of file.tree.rootNode.namedChildren) {
    if (!node || (node.type !== 'resource_declaration' && node.type !== 'module_declaration')) continue;
    const [symbol, target, value] = node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
    if (!symbol || !target || target.type !== 'string') continue;
    let body: Node | undefined = value;
    const conditional = value?.type === 'if_statement';
    const loop = value?.type === 'for_statement';
    if (conditional || loop) body = value?.namedChildren.filter((c): c is Node => c?.type === 'object').at(-1);
    found.push({
      kind: node.type === 'resource_declaration' ? 'resource' : 'module',
      symbol: symbol.text,
      target: stringValue(target) ?? target.text,
      body: body?.type === 'object' ? body : undefined,
      conditional,
      loop,
      existing: node.children.some((c) => c?.type === 'existing'),
      file,
    });
  }
  return found;
}

/** The value of a plain string literal (no interpolation), else undefined. */
export function stringValue(node: Node | null | undefined): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  let text = '';
  for (const part of node.namedChildren) {
    if (!part) continue;
    if (part.type === 'string_content') text += part.text;
    else if (part.type === 'escape_sequence') text += part.text.slice(1);
    else return undefined;
  }
  return text;
}

/** A literal: string without interpolation, boolean or number; else undefined. */
export function literal(node: Node | null | undefined): string | boolean | number | undefined {
  if (!node) return undefined;
  if (node.type === 'string') return stringValue(node);
  if (node.type === 'boolean') return node.text === 'true';
  if (node.type === 'number') return Number(node.text);
  return undefined;
}

export function objectProperties(object: Node | null | undefined): { key: string; value: Node }[] {
  if (!object || object.type !== 'object') return [];
  const properties: { key: string; value: Node }[] = [];
  for (const child of object.namedChildren) {
    if (!child || child.type !== 'object_property') continue;
    const [key, value] = child.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
    if (!key || !value) continue;
    properties.push({ key: key.type === 'string' ? (stringValue(key) ?? key.text) : key.text, value });
  }
  return properties;
}

/** `property(body, 'properties.functionAppConfig.runtime')`; keys compared case-insensitively, as ARM does. */
export function property(object: Node | null | undefined, dottedPath: string): Node | undefined {
  let current: Node | undefined = object ?? undefined;
  for (const key of dottedPath.split('.')) {
    current = objectProperties(current).find((p) => p.key.toLowerCase() === key.toLowerCase())?.value;
    if (!current) return undefined;
  }
  return current;
}

/** The parameter declarations of a file, with their default values when they have one. */
export function parameters(file: BicepFile): Map<string, Node | undefined> {
  const params = new Map<string, Node | undefined>();
  for (const node of file.tree.rootNode.namedChildren) {
    if (node?.type !== 'parameter_declaration') continue;
    const [name, , defaultValue] = node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
    if (name) params.set(name.text, defaultValue);
  }
  return params;
}

/** The value of `var name = …` in this file. */
export function variable(file: BicepFile, name: string): Node | undefined {
  for (const node of file.tree.rootNode.namedChildren) {
    if (node?.type !== 'variable_declaration') continue;
    const [id, value] = node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
    if (id?.text === name) return value;
  }
  return undefined;
}

/** A string literal, or an identifier naming a variable of the same file whose value is one. */
export function resolveString(file: BicepFile, node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  if (node.type === 'string') return stringValue(node);
  if (node.type === 'identifier') return resolveString(file, variable(file, node.text));
  return undefined;
}

/** The arguments of a call such as `guid(a, b, c)`, or undefined when the node is not a call to `name`. */
export function callArguments(node: Node | null | undefined, name: string): Node[] | undefined {
  if (!node || node.type !== 'call_expression') return undefined;
  if (node.childForFieldName('function')?.text !== name) return undefined;
  const args = node.childForFieldName('arguments');
  return args ? args.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment') : [];
}

/** Every string literal value in the file (for the role ids, which live in variables). */
export function stringLiterals(file: BicepFile): string[] {
  return file.tree.rootNode
    .descendantsOfType('string')
    .map((n) => stringValue(n))
    .filter((s): s is string => s !== undefined);
}

/** The names of the `output` declarations of a file. */
export function outputs(file: BicepFile): string[] {
  return file.tree.rootNode.namedChildren
    .filter((n): n is Node => n?.type === 'output_declaration')
    .map((n) => n.namedChildren.find((c) => c?.type === 'identifier')?.text ?? '');
}

/** `targetScope = '…'`, or undefined (resource group scope). */
export function targetScope(file: BicepFile): string | undefined {
  const node = file.tree.rootNode.namedChildren.find((n) => n?.type === 'target_scope_assignment');
  return stringValue(node?.namedChildren.find((c) => c?.type === 'string'));
}

/**
 * The Function App's app settings, by name: the object of a `Microsoft.Web/sites/config` resource named
 * `appsettings`, and the `{ name, value }` items of a site's `siteConfig.appSettings`.
 */
export function functionAppSettings(files: BicepFile[]): Map<string, Node> {
  const settings = new Map<string, Node>();
  for (const d of files.flatMap(declarations)) {
    if (d.kind !== 'resource' || d.existing) continue;
    const type = resourceType(d).toLowerCase();
    if (type === 'microsoft.web/sites/config' && literal(property(d.body, 'name')) === 'appsettings') {
      for (const { key, value } of objectProperties(property(d.body, 'properties'))) settings.set(key, value);
    }
    if (type === 'microsoft.web/sites') {
      const list = property(d.body, 'properties.siteConfig.appSettings');
      for (const item of list?.namedChildren ?? []) {
        const name = literal(property(item, 'name'));
        const value = property(item, 'value');
        if (typeof name === 'string' && value) settings.set(name, value);
      }
    }
  }
  return settings;
}
