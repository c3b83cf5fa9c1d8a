/**
 * The ServiceNow side end to end: the Script Include and business rules run in a simulated instance (a
 * worker thread with the Glide shim, whose RESTMessageV2 makes real, blocking HTTP calls) against the local
 * stack, and a real Web PubSub client receives what the bridge fans out.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseWebhookHeaders } from '../../src/lib/webhooks/webhookHeaders.js';
import { verifySignature, webhookKey } from '../../src/lib/webhooks/verifySignature.js';
import { EXPECTED, fixture, p1AssignedMessage } from '../support/fixtures.js';
import { connectClient, type TestClient } from '../support/realtime.js';
import { createInstance, startTestStack, type TestStack } from '../support/stack.js';
import { recordFromEnvelope, type HttpRequest, type LogLine, type RecordSpec } from './glideShim.js';
import { SimulatedInstance } from './instance.js';
import type { WorkerOutcome, WorkerStep } from './snWorker.js';
import { SCRIPT_INCLUDE, ruleFor } from './sources.js';

const INSTANCE = 'acme-prod';
const BETH = '46d44a23a9fe19810012d100cca80666';

let stack: TestStack;
let secret: string;
let sn: SimulatedInstance;
const clients: TestClient[] = [];
const allLogs: LogLine[] = [];
const allRequests: HttpRequest[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  secret = await createInstance(stack, INSTANCE);
  sn = SimulatedInstance.start();
});
afterAll(async () => {
  clients.forEach((c) => c.stop());
  await sn?.close();
  await stack?.close();
});
beforeEach(() => {
  sn.fault = undefined;
  sn.exchanges.length = 0;
});

async function run(steps: WorkerStep[], settings: { properties?: Record<string, string>; clockSkewMs?: number } = {}): Promise<WorkerOutcome> {
  const outcome = await sn.run({
    scriptInclude: SCRIPT_INCLUDE,
    properties: {
      'x_flowquest.endpoint': stack.url,
      'x_flowquest.instance_id': INSTANCE,
      'x_flowquest.webhook_secret': secret,
      ...settings.properties,
    },
    ...(settings.clockSkewMs ? { clockSkewMs: settings.clockSkewMs } : {}),
    steps,
  });
  allLogs.push(...outcome.logs);
  allRequests.push(...sn.exchanges.map((e) => e.request));
  return outcome;
}

function recordOf(name: string): RecordSpec {
  return recordFromEnvelope(fixture(name) as Parameters<typeof recordFromEnvelope>[0]);
}

function header(request: HttpRequest, name: string): string {
  return Object.entries(request.headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
}

function bridgeBody(i: number): Record<string, unknown> {
  const exchange = sn.exchanges[i];
  if (!exchange?.bridge) throw new Error(`exchange ${i} did not reach the bridge`);
  return JSON.parse(exchange.bridge.body ?? '') as Record<string, unknown>;
}

async function connect(userId: string, groups: string[] = []): Promise<TestClient> {
  const client = await connectClient(stack, userId, groups);
  clients.push(client);
  return client;
}

describe('the shared fixtures through the business rules', () => {
  it('send what the bridge notifies about, and a connected client receives each expected notification', async () => {
    // One client per expected target: the user itself, or a watcher in the group.
    const targets = new Map<string, TestClient>();
    for (const expected of Object.values(EXPECTED)) {
      if (expected.status !== 'accepted') continue;
      for (const send of expected.sends) {
        const [, type, target] = send.replace('{i}', INSTANCE).split(' ') as [string, 'user' | 'group', string];
        if (targets.has(`${type} ${target}`)) continue;
        targets.set(`${type} ${target}`, type === 'user' ? await connect(target) : await connect(`${INSTANCE}:watcher-${targets.size}`, [target]));
      }
    }

    const names = Object.keys(EXPECTED).sort();
    const outcome = await run(names.map((name) => ({ kind: 'rule', rule: ruleFor(recordOf(name).table), record: recordOf(name) })));

    expect(outcome.results.map((r) => r.conditionMet)).toEqual(names.map((n) => EXPECTED[n]!.status === 'accepted'));
    const fired = names.filter((n) => EXPECTED[n]!.status === 'accepted');
    expect(sn.exchanges).toHaveLength(fired.length);

    for (const [i, name] of fired.entries()) {
      const expected = EXPECTED[name]!;
      if (expected.status !== 'accepted') continue;
      const id = header(sn.exchanges[i]!.request, 'webhook-id');
      expect(sn.exchanges[i]!.bridge?.status).toBe(202);
      expect(bridgeBody(i)).toEqual({ status: 'accepted', id, notifications: expected.sends.length });
      for (const send of expected.sends) {
        const [kind, type, target] = send.replace('{i}', INSTANCE).split(' ') as [string, 'user' | 'group', string];
        const client = targets.get(`${type} ${target}`)!;
        await client.waitFor((received) =>
          received.some(
            (r) => r.data.eventId === id && r.data.kind === kind && (type === 'user' ? r.from === 'server' : r.from === 'group' && r.group === target),
          ),
        );
      }
    }

    const beth = targets.get(`user ${INSTANCE}:${BETH}`)!;
    const p1Id = header(sn.exchanges[fired.indexOf('incident-p1-inserted-assigned.json')]!.request, 'webhook-id');
    expect(beth.received.find((r) => r.data.id === `${p1Id}:incident.assigned`)?.data).toEqual(p1AssignedMessage(INSTANCE, p1Id));
    expect(outcome.logs.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('filtered fixtures are dropped at the source; sent anyway, the bridge answers filtered', async () => {
    const names = Object.keys(EXPECTED).filter((n) => EXPECTED[n]!.status === 'filtered');
    const byRule = await run(names.map((name) => ({ kind: 'rule', rule: ruleFor(recordOf(name).table), record: recordOf(name) })));
    expect(byRule.results).toEqual(names.map(() => ({ conditionMet: false })));
    expect(sn.exchanges).toEqual([]);

    const direct = await run(names.map((name) => ({ kind: 'notify', record: recordOf(name) })));
    expect(direct.results.map((r) => r.result)).toEqual(
      sn.exchanges.map((e) => ({ outcome: 'filtered', id: header(e.request, 'webhook-id'), status: 202, attempts: 1, notifications: null })),
    );
    sn.exchanges.forEach((e, i) => expect(bridgeBody(i)).toEqual({ status: 'filtered', id: header(e.request, 'webhook-id') }));
  });
});

describe('retries against the bridge', () => {
  it('a 503 is retried with the same webhook-id, a fresh timestamp and signature, and the retry is accepted', async () => {
    const beth = await connect(`${INSTANCE}:${BETH}`);
    sn.fault = (_request, index) => (index === 0 ? { answer: { status: 503, body: '{"code":"DEPENDENCY_UNAVAILABLE"}' } } : undefined);
    const outcome = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json') }]);

    expect(sn.exchanges).toHaveLength(2);
    const [first, second] = sn.exchanges as [(typeof sn.exchanges)[0], (typeof sn.exchanges)[0]];
    expect(first.bridge).toBeUndefined();
    const id = header(first.request, 'webhook-id');
    expect(header(second.request, 'webhook-id')).toBe(id);
    expect(second.request.body).toBe(first.request.body);
    expect(Number(header(second.request, 'webhook-timestamp'))).toBeGreaterThanOrEqual(Number(header(first.request, 'webhook-timestamp')));
    expect(bridgeBody(1)).toEqual({ status: 'accepted', id, notifications: 3 });
    expect(outcome.results[0]!.result).toEqual({ outcome: 'accepted', id, status: 202, attempts: 2, notifications: 3 });
    await beth.waitFor((r) => r.some((m) => m.data.id === `${id}:incident.assigned`));
    expect(outcome.logs.map((l) => l.level)).toEqual(['warn', 'info']);
  });

  it('when the answer is lost the retry is answered duplicate, and so is a replay of the request the script sent', async () => {
    const beth = await connect(`${INSTANCE}:${BETH}`);
    sn.fault = (_request, index) => (index === 0 ? { lose: { status: 0, error: 'java.net.SocketTimeoutException: Read timed out' } } : undefined);
    const outcome = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json') }]);

    const id = header(sn.exchanges[0]!.request, 'webhook-id');
    expect(sn.exchanges.map((e) => e.bridge?.status)).toEqual([202, 200]);
    expect(bridgeBody(0)).toEqual({ status: 'accepted', id, notifications: 3 });
    expect(bridgeBody(1)).toEqual({ status: 'duplicate', id });
    expect(outcome.results[0]!.result).toMatchObject({ outcome: 'duplicate', id, attempts: 2 });

    // The very bytes and headers the script produced, sent again.
    const { request } = sn.exchanges[0]!;
    const replay = await fetch(request.url, { method: request.method, headers: request.headers, body: Buffer.from(request.body, 'utf8') });
    expect([replay.status, await replay.json()]).toEqual([200, { status: 'duplicate', id }]);

    await beth.waitFor((r) => r.some((m) => m.data.eventId === id));
    await new Promise((r) => setTimeout(r, 200));
    expect(beth.received.filter((m) => m.data.eventId === id)).toHaveLength(1);
  });

  it('no answer in time, or no connection: bounded retries, then an error in the log', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer(() => {
      // never answers
    });
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const timedOut = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json'), options: { maxAttempts: 2, httpTimeoutMs: 300 } }], {
        properties: { 'x_flowquest.endpoint': silentUrl },
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      expect(timedOut.results[0]!.result).toMatchObject({ outcome: 'failed', status: 0, attempts: 2 });
      expect(sn.exchanges.map((e) => e.seen)).toEqual([
        { response: { status: 0, error: 'java.net.SocketTimeoutException: Read timed out' } },
        { response: { status: 0, error: 'java.net.SocketTimeoutException: Read timed out' } },
      ]);
      expect(timedOut.logs.at(-1)).toMatchObject({ level: 'error', message: expect.stringContaining('giving up after 2 attempts') });
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }

    sn.exchanges.length = 0;
    const refused = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json') }], {
      properties: { 'x_flowquest.endpoint': silentUrl },
    });
    expect(refused.results[0]!.result).toMatchObject({ outcome: 'failed', status: 0, attempts: 3 });
    expect(refused.logs.map((l) => l.message)).toEqual([
      expect.stringContaining('no response (java.net.ConnectException: Connection refused); retrying'),
      expect.stringContaining('no response (java.net.ConnectException: Connection refused); retrying'),
      expect.stringContaining('giving up after 3 attempts'),
    ]);
  });
});

describe('what the bridge refuses', () => {
  it('a wrong secret: 401 INVALID_SIGNATURE, not retried, and the log says which property to check', async () => {
    const wrong = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const outcome = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json') }], {
      properties: { 'x_flowquest.webhook_secret': wrong },
    });
    expect(outcome.results[0]!.result).toMatchObject({ outcome: 'rejected', status: 401, attempts: 1 });
    expect(bridgeBody(0)).toMatchObject({ status: 401, code: 'INVALID_SIGNATURE' });
    expect(outcome.logs).toEqual([{ level: 'error', message: expect.stringMatching(/HTTP 401 INVALID_SIGNATURE; not retried \(check that x_flowquest\.webhook_secret/) }]);
  });

  it('an instance clock 10 minutes fast: 401 TIMESTAMP_OUT_OF_TOLERANCE, and the log points at the clock', async () => {
    const outcome = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json') }], { clockSkewMs: 600_000 });
    expect(bridgeBody(0)).toMatchObject({ status: 401, code: 'TIMESTAMP_OUT_OF_TOLERANCE' });
    expect(outcome.logs).toEqual([{ level: 'error', message: expect.stringContaining('the instance clock') }]);
  });

  it('an instance id the bridge does not know: 404 UNKNOWN_INSTANCE, not retried', async () => {
    const outcome = await run([{ kind: 'notify', record: recordOf('incident-p1-inserted-assigned.json') }], {
      properties: { 'x_flowquest.instance_id': 'acme-unknown' },
    });
    expect(outcome.results[0]!.result).toMatchObject({ outcome: 'rejected', status: 404, attempts: 1 });
    expect(bridgeBody(0)).toMatchObject({ code: 'UNKNOWN_INSTANCE' });
    expect(outcome.logs[0]!.message).toContain('check x_flowquest.instance_id');
  });
});

describe('text', () => {
  it('non-ASCII text survives signing, transport and verification, and reaches the client intact', async () => {
    const title = 'Störung – 東京 😀';
    const watcher = await connect(`${INSTANCE}:critical-watcher`, [`${INSTANCE}:critical`]);
    const record = recordOf('incident-p1-inserted-assigned.json');
    const outcome = await run([
      { kind: 'rule', rule: ruleFor('incident'), record: { ...record, values: { ...record.values, short_description: title } } },
    ]);
    const { request } = sn.exchanges[0]!;
    const id = header(request, 'webhook-id');
    expect(outcome.results[0]!.conditionMet).toBe(true);
    expect(bridgeBody(0)).toEqual({ status: 'accepted', id, notifications: 3 });
    expect([...Buffer.from(request.body, 'utf8')].every((b) => b < 0x80)).toBe(true);
    // The bridge's own verifier accepts the bytes that were sent with the signature the script computed.
    const headers = parseWebhookHeaders({ get: (n) => header(request, n) || null });
    expect(() => verifySignature(headers, Buffer.from(request.body, 'utf8'), [webhookKey(secret)], headers.timestamp * 1000)).not.toThrow();
    await watcher.waitFor((r) => r.some((m) => m.data.eventId === id));
    expect(watcher.received.find((m) => m.data.eventId === id)?.data).toMatchObject({ kind: 'incident.critical', title });
  });
});

describe('logs', () => {
  it('no gs log line of this file ever held the secret, a signature or a request body', () => {
    const key = secret.slice('whsec_'.length);
    expect(allLogs.length).toBeGreaterThan(10);
    expect(allRequests.length).toBeGreaterThan(10);
    const text = allLogs.map((l) => l.message).join('\n');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(0, 16));
    for (const request of allRequests) {
      expect(text).not.toContain(header(request, 'webhook-signature').slice(3));
      expect(text).not.toContain(request.body);
    }
  });
});
