/**
 * A faithful shim of the part of ServiceNow's server-side Glide API that the FlowQuest scripts may use,
 * and nothing more: the scripts run in a `node:vm` realm that holds only these globals, with the
 * ES2015+ library removed (Rhino in ES5 mode), so a call outside the allowed surface is a TypeError.
 *
 *   Class.create · gs.getProperty / generateGUID / info / warn / error / nowDateTime ·
 *   new GlideDateTime().getNumericValue() · new GlideCertificateEncryption().generateMac(key, alg, data) ·
 *   new sn_ws.RESTMessageV2(): setEndpoint, setHttpMethod, setRequestHeader, setRequestBody,
 *   setHttpTimeout, execute, executeAsync → response getStatusCode, getBody, haveError, getErrorMessage ·
 *   records: getTableName, getUniqueValue, getValue, getDisplayValue, isNewRecord, operation,
 *   <field>.changes().
 *
 * Encodings are ServiceNow's (Java's): generateMac base64-decodes the key, signs the data as UTF-8 bytes
 * (String.getBytes(UTF_8), where an unpaired surrogate becomes '?') and returns standard base64.
 * RESTMessageV2.execute() is synchronous: it calls a SyncTransport, which the tests implement either
 * with canned answers or with a real HTTP call made from another thread (see snWorker.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import vm from 'node:vm';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** status 0 = no response (connection refused, timeout): haveError() is true and `error` is the message. */
export interface HttpResponse {
  status: number;
  body?: string;
  error?: string;
}

/** RESTMessageV2's HTTP client: blocks until answered. Throwing makes execute() throw (a Java exception). */
export type SyncTransport = (request: HttpRequest) => HttpResponse;

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** A record as a business rule sees it: plain data, so that it can cross to a worker thread. */
export interface RecordSpec {
  table: string;
  operation: 'insert' | 'update' | 'delete';
  /** Raw values (getValue), including sys_id, number, sys_updated_on, sys_updated_by. */
  values: Record<string, string>;
  /** Display values (getDisplayValue); a field without one shows its raw value. */
  display?: Record<string, string>;
  /** Fields whose changes() is true. */
  changed?: string[];
}

export interface GlideOptions {
  properties?: Record<string, string>;
  transport: SyncTransport;
  /** Milliseconds since the epoch, for GlideDateTime (default Date.now). */
  now?: () => number;
}

export interface Glide {
  readonly logs: LogLine[];
  /** Runs a script (a Script Include) in the realm, as the platform loads it. */
  load(source: string, filename: string): void;
  /** Evaluates code in the realm with extra globals (current, previous, …) set for its duration. */
  run<T = unknown>(code: string, globals?: Record<string, unknown>): T;
}

/** The columns of the tables the tests use; a name outside these is not a field of the record. */
export const TABLE_COLUMNS: Record<string, readonly string[]> = {
  incident: [
    'sys_id', 'number', 'sys_updated_on', 'sys_updated_by', 'sys_created_on', 'sys_created_by', 'priority', 'impact',
    'urgency', 'state', 'short_description', 'description', 'assigned_to', 'assignment_group', 'caller_id', 'category',
    'opened_at', 'work_notes', 'comments',
  ],
  sysapproval_approver: [
    'sys_id', 'sys_updated_on', 'sys_updated_by', 'sys_created_on', 'sys_created_by', 'state', 'approver', 'sysapproval',
    'source_table', 'document_id', 'due_date', 'comments',
  ],
  problem: ['sys_id', 'number', 'sys_updated_on', 'sys_updated_by', 'priority', 'state', 'short_description', 'assigned_to'],
};

/** An exception as Rhino hands a Java exception to a script: `message` is "<class>: <text>". */
function javaException(className: string, text: string): Error {
  return new Error(`${className}: ${text}`);
}

/** java.util.Base64 (basic): only the base64 alphabet, correct padding; anything else throws. */
function decodeBase64Strict(value: string): Buffer {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw javaException('java.lang.IllegalArgumentException', 'Illegal base64 key');
  }
  return Buffer.from(value, 'base64');
}

/** Java's String.getBytes(UTF_8): an unpaired surrogate is encoded as '?'. */
export function javaUtf8(value: string): Buffer {
  return Buffer.from(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '?'), 'utf8');
}

const MAC_ALGORITHMS: Record<string, string> = { hmacsha256: 'sha256', hmacsha1: 'sha1', hmacsha384: 'sha384', hmacsha512: 'sha512', hmacmd5: 'md5' };

/** GlideCertificateEncryption.generateMac(key, algorithm, data): base64 key in, base64 MAC out. */
export function generateMac(key: string, algorithm: string, data: string): string {
  const name = MAC_ALGORITHMS[String(algorithm).toLowerCase()];
  if (!name) throw javaException('java.security.NoSuchAlgorithmException', `Algorithm ${algorithm} not available`);
  const keyBytes = decodeBase64Strict(String(key));
  if (keyBytes.length === 0) throw javaException('java.lang.IllegalArgumentException', 'Empty key');
  return createHmac(name, keyBytes).update(javaUtf8(String(data))).digest('base64');
}

/** gs.info('a {0} b', x): MessageFormat-style positional parameters. */
function format(message: unknown, params: unknown[]): string {
  return String(message).replace(/\{(\d+)\}/g, (whole, i: string) => (Number(i) < params.length ? String(params[Number(i)]) : whole));
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function outsideSurface(what: string): never {
  throw new TypeError(`${what} is outside the allowed Glide surface`);
}

/** A record as `current`: only the allowed methods, plus one element per column with only changes(). */
export function makeRecord(spec: RecordSpec): Record<string, unknown> {
  const columns = TABLE_COLUMNS[spec.table];
  if (!columns) throw new Error(`no columns known for table ${spec.table}`);
  for (const field of [...Object.keys(spec.values), ...(spec.changed ?? [])]) {
    if (!columns.includes(field)) throw new Error(`${field} is not a column of ${spec.table}`);
  }
  const changed = new Set(spec.changed ?? []);
  const raw = (field: string): string | null => {
    if (!columns.includes(field)) return null;
    const value = spec.values[field];
    return value === undefined || value === '' ? null : value;
  };
  const record: Record<string, unknown> = {
    getTableName: () => spec.table,
    getUniqueValue: () => raw('sys_id'),
    getValue: (field: unknown) => raw(String(field)),
    getDisplayValue: (field?: unknown) => {
      if (field === undefined) return raw('number') ?? '';
      const name = String(field);
      if (!columns.includes(name)) return '';
      return spec.display?.[name] ?? raw(name) ?? '';
    },
    isNewRecord: () => spec.operation === 'insert',
    operation: () => spec.operation,
  };
  for (const field of columns) {
    const element = Object.create(null) as Record<string, unknown>;
    element.changes = () => changed.has(field);
    record[field] = Object.freeze(element);
  }
  return Object.freeze(record);
}

/** Turns a fixture envelope into the record a business rule would have had in hand. */
export function recordFromEnvelope(envelope: {
  event: string;
  table: string;
  sys_id: string;
  number?: string;
  sys_updated_on: string;
  sys_updated_by?: string;
  changed: string[];
  record: Record<string, string>;
  display?: Record<string, string>;
}): RecordSpec {
  const operation = ({ 'record.inserted': 'insert', 'record.updated': 'update', 'record.deleted': 'delete' } as const)[
    envelope.event as 'record.inserted'
  ];
  if (!operation) throw new Error(`unknown event ${envelope.event}`);
  const values: Record<string, string> = { ...envelope.record, sys_id: envelope.sys_id, sys_updated_on: envelope.sys_updated_on };
  if (envelope.number !== undefined) values.number = envelope.number;
  if (envelope.sys_updated_by !== undefined) values.sys_updated_by = envelope.sys_updated_by;
  return { table: envelope.table, operation, values, display: { ...envelope.display }, changed: [...envelope.changed] };
}

/** Removes what Rhino's ES5 mode does not have, so that a script using it fails here as it would there. */
const ES5_REALM = `(function (g) {
  var gone = {
    'Array': ['from', 'of'],
    'Array.prototype': ['includes', 'find', 'findIndex', 'findLast', 'findLastIndex', 'fill', 'copyWithin', 'entries', 'keys', 'values', 'flat', 'flatMap', 'at', 'toSorted', 'toReversed', 'toSpliced', 'with'],
    'Object': ['assign', 'entries', 'values', 'fromEntries', 'getOwnPropertySymbols', 'is', 'setPrototypeOf', 'hasOwn', 'groupBy'],
    'String': ['fromCodePoint', 'raw'],
    'String.prototype': ['includes', 'startsWith', 'endsWith', 'repeat', 'padStart', 'padEnd', 'codePointAt', 'normalize', 'trimStart', 'trimEnd', 'at', 'replaceAll', 'matchAll'],
    'Number': ['isNaN', 'isFinite', 'isInteger', 'isSafeInteger', 'parseFloat', 'parseInt', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER'],
    'Math': ['trunc', 'sign', 'cbrt', 'log2', 'log10', 'hypot', 'imul', 'fround', 'clz32', 'expm1', 'log1p', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh']
  };
  for (var path in gone) {
    var parts = path.split('.'), target = g;
    for (var i = 0; i < parts.length; i++) target = target[parts[i]];
    for (var j = 0; j < gone[path].length; j++) delete target[gone[path][j]];
  }
  var globals = ['Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Promise', 'Proxy', 'Reflect', 'Symbol', 'BigInt',
    'BigInt64Array', 'BigUint64Array', 'SharedArrayBuffer', 'Atomics', 'AggregateError', 'Intl', 'WebAssembly', 'console', 'globalThis'];
  for (var k = 0; k < globals.length; k++) delete g[globals[k]];
})(this);`;

export function createGlide(options: GlideOptions): Glide {
  const logs: LogLine[] = [];
  const properties = { ...options.properties };
  const now = options.now ?? Date.now;
  const log = (level: LogLine['level']) => (message: unknown, ...params: unknown[]) => {
    logs.push({ level, message: format(message, params) });
  };

  const gs = Object.freeze({
    getProperty: (name: unknown, alt?: unknown) => {
      const key = String(name);
      if (Object.prototype.hasOwnProperty.call(properties, key)) return properties[key];
      return alt === undefined ? null : alt;
    },
    generateGUID: () => randomBytes(16).toString('hex'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    /** The current date-time in the session's time zone and format; the shim's session is UTC. */
    nowDateTime: () => {
      const d = new Date(now());
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    },
  });

  const Class = Object.freeze({
    create: () =>
      function (this: { initialize: (...args: unknown[]) => void }, ...args: unknown[]) {
        this.initialize(...args);
      },
  });

  class GlideDateTime {
    readonly #ms: number;
    constructor(...args: unknown[]) {
      if (args.length > 0) outsideSurface('new GlideDateTime(value)');
      this.#ms = now();
    }
    /** Milliseconds since 1970-01-01 00:00:00 UTC. */
    getNumericValue(): number {
      return this.#ms;
    }
  }

  class GlideCertificateEncryption {
    generateMac(key: unknown, algorithm: unknown, data: unknown): string {
      return generateMac(String(key), String(algorithm), String(data));
    }
  }

  class RESTResponseV2 {
    readonly #response: HttpResponse;
    readonly #url: string;
    constructor(response: HttpResponse, url: string) {
      this.#response = response;
      this.#url = url;
    }
    getStatusCode(): number {
      return this.#response.status;
    }
    getBody(): string {
      return this.#response.body ?? '';
    }
    haveError(): boolean {
      return this.#response.status === 0 || this.#response.status >= 400;
    }
    getErrorMessage(): string {
      if (this.#response.error) return this.#response.error;
      if (this.#response.status >= 400) return `Method failed: (${new URL(this.#url).pathname}) with code: ${this.#response.status}`;
      return '';
    }
  }

  class RESTMessageV2 {
    #endpoint = '';
    #method = '';
    #headers: Record<string, string> = {};
    #body = '';
    /** glide.http.timeout's default: 175 s. */
    #timeoutMs = 175_000;
    constructor(...args: unknown[]) {
      if (args.length > 0) outsideSurface('new sn_ws.RESTMessageV2(name, method)');
    }
    setEndpoint(endpoint: unknown): void {
      this.#endpoint = String(endpoint);
    }
    setHttpMethod(method: unknown): void {
      this.#method = String(method).toUpperCase();
    }
    setRequestHeader(name: unknown, value: unknown): void {
      const key = String(name);
      for (const existing of Object.keys(this.#headers)) if (existing.toLowerCase() === key.toLowerCase()) delete this.#headers[existing];
      this.#headers[key] = String(value);
    }
    setRequestBody(body: unknown): void {
      this.#body = String(body);
    }
    setHttpTimeout(timeoutMs: unknown): void {
      this.#timeoutMs = Number(timeoutMs);
    }
    execute(): RESTResponseV2 {
      return this.#send();
    }
    /** Sends without waiting; reading the response waits for it, which is all a synchronous shim can do. */
    executeAsync(): RESTResponseV2 {
      return this.#send();
    }
    #send(): RESTResponseV2 {
      if (!/^https?:\/\//.test(this.#endpoint)) throw javaException('java.lang.IllegalArgumentException', 'Invalid uri: no endpoint set');
      if (!this.#method) throw javaException('java.lang.IllegalArgumentException', 'No HTTP method set');
      const request: HttpRequest = { method: this.#method, url: this.#endpoint, headers: { ...this.#headers }, body: this.#body, timeoutMs: this.#timeoutMs };
      let response: HttpResponse;
      try {
        response = options.transport(request);
      } catch (e) {
        throw javaException('com.glide.rest.outbound.OutboundException', e instanceof Error ? e.message : String(e));
      }
      return new RESTResponseV2(response, this.#endpoint);
    }
  }

  const context = vm.createContext(
    { Class, gs, GlideDateTime, GlideCertificateEncryption, sn_ws: Object.freeze({ RESTMessageV2 }) },
    { name: 'servicenow', codeGeneration: { strings: false, wasm: false } },
  );
  vm.runInContext(ES5_REALM, context);

  return {
    logs,
    load(source, filename) {
      vm.runInContext(source, context, { filename });
    },
    run<T>(code: string, globals: Record<string, unknown> = {}): T {
      const sandbox = context as Record<string, unknown>;
      Object.assign(sandbox, globals);
      try {
        return vm.runInContext(code, context) as T;
      } finally {
        for (const name of Object.keys(globals)) delete sandbox[name];
      }
    },
  };
}
