import { createHmac, randomBytes } from 'node:crypto';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { parseWebhookHeaders } from '../../src/lib/webhooks/webhookHeaders.js';
import { verifySignature, webhookKey } from '../../src/lib/webhooks/verifySignature.js';
import { fixture, fixtureNames } from '../support/fixtures.js';
import { recordFromEnvelope, type HttpRequest, type HttpResponse, type LogLine, type RecordSpec } from './glideShim.js';
import { BUSINESS_RULES, SCRIPT_INCLUDE, buildEnvelope, loadedGlide, notify } from './sources.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const KEY = SECRET.slice('whsec_'.length);
const PROPERTIES = {
  'x_flowquest.endpoint': 'https://bridge.example.net/',
  'x_flowquest.instance_id': 'acme-prod',
  'x_flowquest.webhook_secret': SECRET,
};
const START = Date.UTC(2026, 10, 22, 9, 14, 3, 400);

/** The fields the Script Include carries per table (its TABLES), for deriving expectations from fixtures. */
const CARRIED: Record<string, { fields: string[]; references: string[] }> = {
  incident: {
    fields: ['priority', 'impact', 'urgency', 'state', 'short_description', 'assigned_to', 'assignment_group', 'caller_id', 'category'],
    references: ['assigned_to', 'assignment_group', 'caller_id'],
  },
  sysapproval_approver: {
    fields: ['state', 'approver', 'sysapproval', 'source_table', 'document_id', 'due_date'],
    references: ['approver', 'sysapproval'],
  },
};

type Answer = HttpResponse | Error;

/** A realm whose RESTMessageV2 gets canned answers (then 202 accepted); the clock moves 1.5 s per call. */
function harness(answers: Answer[] = [], properties: Record<string, string> = PROPERTIES) {
  let now = START;
  const requests: HttpRequest[] = [];
  const sentAt: number[] = [];
  const glide = loadedGlide({
    properties,
    now: () => now,
    transport: (request) => {
      requests.push(request);
      sentAt.push(now);
      now += 1500;
      const answer = answers.shift() ?? { status: 202, body: JSON.stringify({ status: 'accepted', id: request.headers['webhook-id'], notifications: 1 }) };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { glide, requests, sentAt, logs: glide.logs };
}

function header(request: HttpRequest, name: string): string {
  const found = Object.entries(request.headers).find(([k]) => k.toLowerCase() === name);
  if (!found) throw new Error(`no ${name} header`);
  return found[1];
}

/** Verifies a request exactly as the bridge does: its parser and its verifier, on the body's UTF-8 bytes. */
function verify(request: HttpRequest, nowMs: number, secret = SECRET): void {
  const headers = parseWebhookHeaders({ get: (name) => request.headers[Object.keys(request.headers).find((k) => k.toLowerCase() === name) ?? ''] ?? null });
  verifySignature(headers, Buffer.from(request.body, 'utf8'), [webhookKey(secret)], nowMs);
}

function problem(status: number, code: string): HttpResponse {
  return { status, body: JSON.stringify({ type: 'about:blank', title: code, status, code, detail: '...' }) };
}

const P1 = fixture('incident-p1-inserted-assigned.json') as Parameters<typeof recordFromEnvelope>[0];
const P1_RECORD = recordFromEnvelope(P1);

function expectNothingSecret(logs: LogLine[], requests: HttpRequest[]): void {
  const text = logs.map((l) => l.message).join('\n');
  expect(text).not.toContain(KEY);
  expect(text).not.toContain(KEY.slice(0, 12));
  for (const request of requests) {
    expect(text).not.toContain(header(request, 'webhook-signature').slice(3));
    expect(text).not.toContain(request.body);
  }
}

describe('the event envelope', () => {
  it('is the contract envelope for the P1 fixture', () => {
    const { envelope, body } = buildEnvelope(harness().glide, P1_RECORD);
    expect(envelope).toEqual({
      event: 'record.inserted',
      table: 'incident',
      sys_id: '9d385017c611228701d22104cc95c371',
      number: 'INC0010042',
      sys_updated_on: '2026-11-22 09:14:03',
      sys_updated_by: 'fred.luddy',
      changed: [],
      record: {
        priority: '1',
        impact: '1',
        urgency: '1',
        state: '1',
        short_description: 'Email server down for the whole EMEA region',
        assigned_to: '46d44a23a9fe19810012d100cca80666',
        assignment_group: '287ebd7da9fe198100f92cc8d1d2154e',
        caller_id: '5137153cc611227c000bbd1bd8cd2005',
        category: 'network',
      },
      display: { assigned_to: 'Beth Anglin', assignment_group: 'Network', caller_id: 'Fred Luddy' },
    });
    expect(Object.keys(JSON.parse(body) as object)).toEqual(['event', 'table', 'sys_id', 'number', 'sys_updated_on', 'sys_updated_by', 'changed', 'record', 'display']);
  });

  it.each(fixtureNames())('%s: values as strings ("" when empty), changed among the carried fields on update only', (name) => {
    const source = fixture(name) as Parameters<typeof recordFromEnvelope>[0];
    const carried = CARRIED[source.table]!;
    const record = Object.fromEntries(carried.fields.map((f) => [f, source.record[f] ?? '']));
    const display = Object.fromEntries(
      carried.references.filter((f) => record[f] !== '').map((f) => [f, source.display?.[f] ?? record[f]!]),
    );
    const { envelope } = buildEnvelope(harness().glide, recordFromEnvelope(source));
    expect(envelope).toEqual({
      event: source.event,
      table: source.table,
      sys_id: source.sys_id,
      ...(source.number ? { number: source.number } : {}),
      sys_updated_on: source.sys_updated_on,
      ...(source.sys_updated_by ? { sys_updated_by: source.sys_updated_by } : {}),
      changed: source.event === 'record.updated' ? source.changed.filter((f) => carried.fields.includes(f)) : [],
      record,
      ...(Object.keys(display).length ? { display } : {}),
    });
  });

  it('is ASCII on the wire, and non-ASCII text survives as JSON escapes', () => {
    const text = 'Störung – 東京 😀 \u2028';
    const { body, envelope } = buildEnvelope(harness().glide, { ...P1_RECORD, values: { ...P1_RECORD.values, short_description: text } });
    expect([...Buffer.from(body, 'utf8')].every((b) => b >= 0x20 && b < 0x7f)).toBe(true);
    expect(body).toContain('St\\u00f6rung \\u2013 \\u6771\\u4eac \\ud83d\\ude00 \\u2028');
    expect((envelope.record as Record<string, string>).short_description).toBe(text);
  });

  it('takes sys_updated_on from the record (UTC), not from the clock', () => {
    const { envelope } = buildEnvelope(harness().glide, { ...P1_RECORD, values: { ...P1_RECORD.values, sys_updated_on: '2030-01-02 03:04:05' } });
    expect(envelope.sys_updated_on).toBe('2030-01-02 03:04:05');
  });

  it('names changed fields on update only from changes(), and maps operation() to the event', () => {
    const base: RecordSpec = { ...P1_RECORD, changed: ['priority', 'work_notes', 'state'] };
    expect(buildEnvelope(harness().glide, { ...base, operation: 'update' }).envelope).toMatchObject({ event: 'record.updated', changed: ['priority', 'state'] });
    expect(buildEnvelope(harness().glide, { ...base, operation: 'insert' }).envelope).toMatchObject({ event: 'record.inserted', changed: [] });
    expect(buildEnvelope(harness().glide, { ...base, operation: 'delete' }).envelope).toMatchObject({ event: 'record.deleted', changed: [] });
  });

  it('sends nothing for a table it does not carry', () => {
    const h = harness();
    const result = notify(h.glide, { table: 'problem', operation: 'insert', values: { sys_id: 'b'.repeat(32), sys_updated_on: '2026-11-22 10:00:00' } });
    expect(result).toMatchObject({ outcome: 'unsupported_table', attempts: 0 });
    expect(h.requests).toEqual([]);
    expect(h.logs).toEqual([{ level: 'warn', message: 'FlowQuestWebhook: table problem is not supported; nothing sent' }]);
  });
});

describe('the signed request', () => {
  it('POSTs JSON to {endpoint}/api/webhooks/servicenow/{instance_id} with the Standard Webhooks headers', () => {
    const h = harness();
    const result = notify(h.glide, P1_RECORD);
    expect(h.requests).toHaveLength(1);
    const request = h.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', url: 'https://bridge.example.net/api/webhooks/servicenow/acme-prod', timeoutMs: 5000 });
    expect(header(request, 'content-type')).toBe('application/json; charset=utf-8');
    const id = header(request, 'webhook-id');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(header(request, 'webhook-timestamp')).toBe(String(Math.floor(START / 1000)));
    const expected = createHmac('sha256', Buffer.from(KEY, 'base64')).update(`${id}.${Math.floor(START / 1000)}.${request.body}`).digest('base64');
    expect(header(request, 'webhook-signature')).toBe(`v1,${expected}`);
    expect(() => verify(request, START)).not.toThrow();
    expect(JSON.parse(request.body)).toEqual(buildEnvelope(h.glide, P1_RECORD).envelope);
    expect(result).toEqual({ outcome: 'accepted', id, status: 202, attempts: 1, notifications: 1 });
    expect(h.logs).toEqual([
      { level: 'info', message: `FlowQuestWebhook: incident INC0010042 (webhook-id ${id}, attempt 1/3): HTTP 202 accepted, 1 notification(s)` },
    ]);
  });

  it('uses a new webhook-id for every event', () => {
    const h = harness();
    notify(h.glide, P1_RECORD);
    notify(h.glide, P1_RECORD);
    expect(new Set(h.requests.map((r) => header(r, 'webhook-id'))).size).toBe(2);
  });

  it('takes the secret with or without its whsec_ prefix, and ignores blanks around the properties', () => {
    const h = harness([], {
      'x_flowquest.endpoint': ' https://bridge.example.net ',
      'x_flowquest.instance_id': 'acme-prod\n',
      'x_flowquest.webhook_secret': ` ${KEY} `,
    });
    expect(notify(h.glide, P1_RECORD).outcome).toBe('accepted');
    expect(h.requests[0]!.url).toBe('https://bridge.example.net/api/webhooks/servicenow/acme-prod');
    expect(() => verify(h.requests[0]!, START)).not.toThrow();
  });

  it.each([
    ['x_flowquest.endpoint', { 'x_flowquest.endpoint': '' }],
    ['x_flowquest.endpoint', { 'x_flowquest.endpoint': 'bridge.example.net' }],
    ['x_flowquest.instance_id', { 'x_flowquest.instance_id': 'Acme Prod' }],
    ['x_flowquest.webhook_secret', { 'x_flowquest.webhook_secret': '' }],
    ['x_flowquest.webhook_secret', { 'x_flowquest.webhook_secret': 'whsec_not base64 at all!!' }],
    ['x_flowquest.webhook_secret', { 'x_flowquest.webhook_secret': 'whsec_c2hvcnQ=' }],
  ])('sends nothing and names %s when it is unusable', (property, override) => {
    const properties: Record<string, string> = { ...PROPERTIES, ...override };
    const h = harness([], properties);
    expect(notify(h.glide, P1_RECORD)).toMatchObject({ outcome: 'not_configured', attempts: 0 });
    expect(h.requests).toEqual([]);
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]).toMatchObject({ level: 'warn', message: expect.stringContaining(property) });
    const secret = properties['x_flowquest.webhook_secret']!;
    if (secret) expect(h.logs[0]!.message).not.toContain(secret.slice(6));
  });
});

describe('delivery and retries', () => {
  const accepted = (n: number): HttpResponse => ({ status: 202, body: JSON.stringify({ status: 'accepted', notifications: n }) });

  it.each<[string, Answer[], { outcome: string; attempts: number; status: number }]>([
    ['503 then 202', [problem(503, 'DEPENDENCY_UNAVAILABLE'), accepted(3)], { outcome: 'accepted', attempts: 2, status: 202 }],
    ['429, 500, then 200 duplicate', [problem(429, 'RATE_LIMITED'), { status: 500, body: 'oops' }, { status: 200, body: '{"status":"duplicate"}' }], { outcome: 'duplicate', attempts: 3, status: 200 }],
    ['no response, then 202', [{ status: 0, error: 'java.net.SocketTimeoutException: Read timed out' }, accepted(1)], { outcome: 'accepted', attempts: 2, status: 202 }],
    ['execute() throws, then 202', [new Error('java.net.ConnectException: Connection refused'), accepted(1)], { outcome: 'accepted', attempts: 2, status: 202 }],
    ['202 filtered at once', [{ status: 202, body: '{"status":"filtered"}' }], { outcome: 'filtered', attempts: 1, status: 202 }],
    ['502, 503, 504: gives up after 3', [{ status: 502 }, { status: 503 }, { status: 504 }], { outcome: 'failed', attempts: 3, status: 504 }],
    ['400 is not retried', [problem(400, 'INVALID_HEADER')], { outcome: 'rejected', attempts: 1, status: 400 }],
    ['401 is not retried', [problem(401, 'INVALID_SIGNATURE')], { outcome: 'rejected', attempts: 1, status: 401 }],
    ['404 is not retried', [problem(404, 'UNKNOWN_INSTANCE')], { outcome: 'rejected', attempts: 1, status: 404 }],
    ['413 is not retried', [problem(413, 'PAYLOAD_TOO_LARGE')], { outcome: 'rejected', attempts: 1, status: 413 }],
    ['422 is not retried', [problem(422, 'INVALID_EVENT')], { outcome: 'rejected', attempts: 1, status: 422 }],
  ])('%s', (_name, answers, expected) => {
    const h = harness(answers);
    const result = notify(h.glide, P1_RECORD);
    expect(result).toMatchObject(expected);
    expect(h.requests).toHaveLength(expected.attempts);
    const ids = new Set(h.requests.map((r) => header(r, 'webhook-id')));
    expect(ids.size).toBe(1);
    expect(result.id).toBe([...ids][0]);
    h.requests.forEach((request, i) => {
      // Each attempt carries its own time and a signature over it, valid at the moment it was sent.
      expect(header(request, 'webhook-timestamp')).toBe(String(Math.floor(h.sentAt[i]! / 1000)));
      expect(() => verify(request, h.sentAt[i]!)).not.toThrow();
      expect(request.body).toBe(h.requests[0]!.body);
    });
    if (h.requests.length > 1) expect(new Set(h.requests.map((r) => header(r, 'webhook-signature'))).size).toBe(h.requests.length);
    expectNothingSecret(h.logs, h.requests);
  });

  it('logs a warning per retried attempt and an error when it gives up', () => {
    const h = harness([{ status: 503 }, { status: 0, error: 'java.net.SocketTimeoutException: Read timed out' }, problem(503, 'DEPENDENCY_UNAVAILABLE')]);
    const { id } = notify(h.glide, P1_RECORD);
    expect(h.logs).toEqual([
      { level: 'warn', message: `FlowQuestWebhook: incident INC0010042 (webhook-id ${id}, attempt 1/3): HTTP 503; retrying with the same webhook-id` },
      { level: 'warn', message: `FlowQuestWebhook: incident INC0010042 (webhook-id ${id}, attempt 2/3): no response (java.net.SocketTimeoutException: Read timed out); retrying with the same webhook-id` },
      { level: 'error', message: `FlowQuestWebhook: incident INC0010042 (webhook-id ${id}, attempt 3/3): HTTP 503 DEPENDENCY_UNAVAILABLE; giving up after 3 attempts, the event is not delivered` },
    ]);
  });

  it.each([
    ['INVALID_SIGNATURE', 401, 'x_flowquest.webhook_secret'],
    ['TIMESTAMP_OUT_OF_TOLERANCE', 401, 'instance clock'],
    ['UNKNOWN_INSTANCE', 404, 'x_flowquest.instance_id'],
  ])('explains %s in the error it logs', (code, status, hint) => {
    const h = harness([problem(status, code)]);
    notify(h.glide, P1_RECORD);
    expect(h.logs).toEqual([{ level: 'error', message: expect.stringContaining(`HTTP ${status} ${code}; not retried`) }]);
    expect(h.logs[0]!.message).toContain(hint);
  });

  it('honours maxAttempts and httpTimeoutMs options', () => {
    const h = harness(Array.from({ length: 9 }, () => ({ status: 503 })));
    expect(notify(h.glide, P1_RECORD, { maxAttempts: 5, httpTimeoutMs: 1500 })).toMatchObject({ outcome: 'failed', attempts: 5 });
    expect(h.requests.map((r) => r.timeoutMs)).toEqual([1500, 1500, 1500, 1500, 1500]);
  });

  it('never logs the secret, even inside an error text, and never throws into the business rule', () => {
    const h = harness([new Error(`handshake failed for key ${KEY} and ${SECRET}`), { status: 0, error: `proxy said ${KEY}` }]);
    const result = notify(h.glide, P1_RECORD, { maxAttempts: 2 });
    expect(result.outcome).toBe('failed');
    expect(h.logs.map((l) => l.message).join('\n')).toContain('[redacted]');
    expectNothingSecret(h.logs, h.requests);

    const broken = harness();
    const weird = broken.glide.run<{ outcome: string }>('new FlowQuestWebhook().notify(current, null)', {
      current: { getTableName: () => { throw new Error(`boom ${KEY}`); } },
    });
    expect(weird.outcome).toBe('error');
    expect(broken.logs).toEqual([{ level: 'error', message: 'FlowQuestWebhook: unexpected error, nothing sent: boom [redacted]' }]);
  });
});

describe('ES5 (Rhino) only', () => {
  const eslint = new ESLint({
    overrideConfigFile: true,
    overrideConfig: { languageOptions: { ecmaVersion: 5, sourceType: 'script' } },
  });

  async function parseErrors(code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: 'servicenow-script.js' });
    return (result?.messages ?? []).filter((m) => m.fatal).map((m) => `${m.line}:${m.column} ${m.message}`);
  }

  it('the Script Include, the business rules and their conditions parse as ECMAScript 5', async () => {
    expect(await parseErrors(SCRIPT_INCLUDE)).toEqual([]);
    for (const rule of BUSINESS_RULES) {
      expect(await parseErrors(rule.script)).toEqual([]);
      expect(await parseErrors(`(${rule.condition});`)).toEqual([]);
    }
  });

  it('the check does catch ES2015 syntax', async () => {
    expect(await parseErrors('let a = () => `x`;')).not.toEqual([]);
  });
});
