/**
 * The OData `filter` language that Send-to-all/group/user and add/removeFromGroups accept.
 *
 * Grammar and semantics follow "OData filter syntax in Azure Web PubSub service"
 * (https://learn.microsoft.com/azure/azure-web-pubsub/reference-odata-filter):
 *   identifiers  userId, connectionId (strings), groups (collection); names are case-insensitive
 *   logic        and, or, not, ( )        precedence: not > comparisons/in > and > or
 *   comparison   eq ne gt ge lt le        `userId eq null` works
 *   in           x in ('a','b')  |  'g' in groups
 *   literals     'str' ('' escapes a quote), integers, true, false, null
 *   functions    tolower toupper trim substring concat length indexof contains startswith endswith
 * Parse errors become 400s. At evaluation time the emulator is lenient: an operand of the
 * wrong type makes the comparison false instead of failing the request.
 */

export interface FilterSubject {
  readonly connectionId: string;
  readonly userId: string | null;
  readonly groups: ReadonlySet<string>;
}

export type FilterPredicate = (subject: FilterSubject) => boolean;

export class FilterError extends Error {}

type Value = string | number | boolean | null | readonly string[];

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'identifier'; name: 'userId' | 'connectionId' | 'groups' }
  | { kind: 'not'; operand: Node }
  | { kind: 'logical'; op: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'compare'; op: CompareOp; left: Node; right: Node }
  | { kind: 'in'; left: Node; list: Node[] }
  | { kind: 'call'; name: string; args: Node[] };

type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
const COMPARE_OPS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

type Token =
  | { type: 'string'; value: string; pos: number }
  | { type: 'number'; value: number; pos: number }
  | { type: 'word'; value: string; pos: number }
  | { type: 'punct'; value: '(' | ')' | ','; pos: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ type: 'punct', value: ch, pos: i });
      i++;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new FilterError(`Unterminated string literal at position ${start}.`);
        const c = text[i] as string;
        if (c === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ type: 'string', value, pos: start });
    } else if (/[0-9+-]/.test(ch)) {
      const match = /^[+-]?[0-9]+/.exec(text.slice(i));
      if (!match) throw new FilterError(`Unexpected '${ch}' at position ${i}.`);
      tokens.push({ type: 'number', value: Number(match[0]), pos: i });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'word', value: match[0], pos: i });
      i += match[0].length;
    } else {
      throw new FilterError(`Unexpected '${ch}' at position ${i}.`);
    }
  }
  return tokens;
}

const FUNCTIONS: Record<string, { min: number; max: number }> = {
  tolower: { min: 1, max: 1 },
  toupper: { min: 1, max: 1 },
  trim: { min: 1, max: 1 },
  length: { min: 1, max: 1 },
  substring: { min: 2, max: 3 },
  concat: { min: 2, max: 2 },
  indexof: { min: 2, max: 2 },
  contains: { min: 2, max: 2 },
  startswith: { min: 2, max: 2 },
  endswith: { min: 2, max: 2 },
};

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.parseOr();
    const extra = this.peek();
    if (extra) throw new FilterError(`Unexpected '${String(extra.value)}' at position ${extra.pos}.`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index++];
    if (!token) throw new FilterError('Unexpected end of filter expression.');
    return token;
  }

  private isWord(word: string): boolean {
    const token = this.peek();
    return token?.type === 'word' && token.value === word;
  }

  private expectPunct(value: '(' | ')' | ','): void {
    const token = this.next();
    if (token.type !== 'punct' || token.value !== value) {
      throw new FilterError(`Expected '${value}' at position ${token.pos}.`);
    }
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      this.index++;
      left = { kind: 'logical', op: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseComparison();
    while (this.isWord('and')) {
      this.index++;
      left = { kind: 'logical', op: 'and', left, right: this.parseComparison() };
    }
    return left;
  }

  private parseComparison(): Node {
    const left = this.parseUnary();
    const token = this.peek();
    if (token?.type === 'word' && COMPARE_OPS.has(token.value)) {
      this.index++;
      return { kind: 'compare', op: token.value as CompareOp, left, right: this.parseUnary() };
    }
    if (token?.type === 'word' && token.value === 'in') {
      this.index++;
      const open = this.peek();
      if (open?.type === 'punct' && open.value === '(') {
        this.index++;
        const list: Node[] = [this.parseOr()];
        while (this.peek()?.type === 'punct' && this.peek()?.value === ',') {
          this.index++;
          list.push(this.parseOr());
        }
        this.expectPunct(')');
        return { kind: 'in', left, list };
      }
      return { kind: 'in', left, list: [this.parseUnary()] };
    }
    return left;
  }

  private parseUnary(): Node {
    if (this.isWord('not')) {
      this.index++;
      return { kind: 'not', operand: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Node {
    const token = this.next();
    if (token.type === 'punct') {
      if (token.value !== '(') throw new FilterError(`Unexpected '${token.value}' at position ${token.pos}.`);
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    if (token.type === 'string' || token.type === 'number') return { kind: 'literal', value: token.value };
    const word = token.value;
    if (word === 'true' || word === 'false') return { kind: 'literal', value: word === 'true' };
    if (word === 'null') return { kind: 'literal', value: null };
    const open = this.peek();
    if (open?.type === 'punct' && open.value === '(') {
      const name = word.toLowerCase();
      const arity = FUNCTIONS[name];
      if (!arity) throw new FilterError(`Unsupported function '${word}' at position ${token.pos}.`);
      this.index++;
      const args: Node[] = [];
      if (!(this.peek()?.type === 'punct' && this.peek()?.value === ')')) {
        args.push(this.parseOr());
        while (this.peek()?.type === 'punct' && this.peek()?.value === ',') {
          this.index++;
          args.push(this.parseOr());
        }
      }
      this.expectPunct(')');
      if (args.length < arity.min || args.length > arity.max) {
        throw new FilterError(`Function '${name}' takes ${arity.min === arity.max ? arity.min : `${arity.min}-${arity.max}`} arguments.`);
      }
      return { kind: 'call', name, args };
    }
    switch (word.toLowerCase()) {
      case 'userid':
        return { kind: 'identifier', name: 'userId' };
      case 'connectionid':
        return { kind: 'identifier', name: 'connectionId' };
      case 'groups':
        return { kind: 'identifier', name: 'groups' };
      default:
        throw new FilterError(`Unknown identifier '${word}' at position ${token.pos}; use userId, connectionId or groups.`);
    }
  }
}

function truthy(value: Value): boolean {
  return value === true;
}

function evaluate(node: Node, subject: FilterSubject): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'identifier':
      if (node.name === 'groups') return [...subject.groups];
      return node.name === 'userId' ? subject.userId : subject.connectionId;
    case 'not':
      return !truthy(evaluate(node.operand, subject));
    case 'logical':
      return node.op === 'and'
        ? truthy(evaluate(node.left, subject)) && truthy(evaluate(node.right, subject))
        : truthy(evaluate(node.left, subject)) || truthy(evaluate(node.right, subject));
    case 'compare':
      return compare(node.op, evaluate(node.left, subject), evaluate(node.right, subject));
    case 'in': {
      const needle = evaluate(node.left, subject);
      const values = node.list.map((n) => evaluate(n, subject));
      // `x in (groups)` / `x in groups`: a single operand that is a collection.
      if (values.length === 1 && Array.isArray(values[0])) return (values[0] as readonly string[]).includes(needle as string);
      return values.some((v) => !Array.isArray(v) && v === needle);
    }
    case 'call':
      return call(node.name, node.args.map((n) => evaluate(n, subject)));
  }
}

function compare(op: CompareOp, left: Value, right: Value): boolean {
  if (Array.isArray(left) || Array.isArray(right)) return false;
  if (op === 'eq') return left === right;
  if (op === 'ne') return left !== right;
  const comparable =
    (typeof left === 'number' && typeof right === 'number') || (typeof left === 'string' && typeof right === 'string');
  if (!comparable) return false;
  const l = left as number | string;
  const r = right as number | string;
  switch (op) {
    case 'gt':
      return l > r;
    case 'ge':
      return l >= r;
    case 'lt':
      return l < r;
    case 'le':
      return l <= r;
  }
}

function call(name: string, args: Value[]): Value {
  const [a, b, c] = args;
  if (name === 'length') {
    if (Array.isArray(a)) return a.length;
    return typeof a === 'string' ? a.length : null;
  }
  if (typeof a !== 'string') return name === 'contains' || name === 'startswith' || name === 'endswith' ? false : null;
  switch (name) {
    case 'tolower':
      return a.toLowerCase();
    case 'toupper':
      return a.toUpperCase();
    case 'trim':
      return a.trim();
    case 'substring':
      if (typeof b !== 'number' || (c !== undefined && typeof c !== 'number')) return null;
      return c === undefined ? a.substring(b) : a.substring(b, b + c);
    case 'concat':
      return typeof b === 'string' ? a + b : null;
    case 'indexof':
      return typeof b === 'string' ? a.indexOf(b) : null;
    case 'contains':
      return typeof b === 'string' && a.includes(b);
    case 'startswith':
      return typeof b === 'string' && a.startsWith(b);
    case 'endswith':
      return typeof b === 'string' && a.endsWith(b);
    default:
      return null;
  }
}

/** Parse once per request; the returned predicate is applied to every candidate connection. */
export function compileFilter(text: string): FilterPredicate {
  if (text.trim() === '') throw new FilterError('The filter is empty.');
  const ast = new Parser(tokenize(text)).parse();
  return (subject) => truthy(evaluate(ast, subject));
}
