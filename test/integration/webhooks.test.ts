import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign, webhookKey } from '../../src/lib/webhooks/verifySignature.js';
import { EXPECTED, fixture, fixtureBytes } from '../support/fixtures.js';
import { call, createInstance, postWebhook, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let secret: string;
const INSTANCE = 'acme-prod';
const P1 = 'incident-p1-inserted-assigned.json';

beforeAll(async () => {
  stack = await startTestStack();
  secret = await createInstance(stack, INSTANCE);
});
afterAll(async () => {
  await stack?.close();
});

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
}

describe('the shared fixtures with the default rules', () => {
  it.each(Object.entries(EXPECTED))('%s', async (name, expected) => {
    const res = await postWebhook(stack, INSTANCE, secret, fixtureBytes(name));
    expect(res.status).toBe(202);
    if (expected.status === 'filtered') expect(res.body).toEqual({ status: 'filtered', id: res.id });
    else expect(res.body).toEqual({ status: 'accepted', id: res.id, notifications: expected.sends.length });
  });
});

describe('dedupe', () => {
  it('answers 200 duplicate when a webhook-id is repeated, whatever the timestamp', async () => {
    const first = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1));
    const again = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id: first.id, timestamp: Math.floor(Date.now() / 1000) + 5 });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'duplicate', id: first.id });
  });

  it('remembers filtered events too', async () => {
    const first = await postWebhook(stack, INSTANCE, secret, fixtureBytes('approval-approved.json'));
    const again = await postWebhook(stack, INSTANCE, secret, fixtureBytes('approval-approved.json'), { id: first.id });
    expect([first.body.status, again.body.status]).toEqual(['filtered', 'duplicate']);
  });

  it('accepts exactly one of 20 concurrent deliveries of one event', async () => {
    const id = `evt_concurrent_${Date.now()}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id })));
    expect(results.filter((r) => r.status === 202 && r.body.status === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r.status === 200 && r.body.status === 'duplicate')).toHaveLength(19);
  });

  it('keeps ids apart per instance', async () => {
    const otherSecret = await createInstance(stack, 'acme-test');
    const a = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id: 'shared-id-1' });
    const b = await postWebhook(stack, 'acme-test', otherSecret, fixtureBytes(P1), { id: 'shared-id-1' });
    expect([a.body.status, b.body.status]).toEqual(['accepted', 'accepted']);
  });

  it('accepts ids with characters that table keys forbid', async () => {
    const id = 'a/b\\c#d?e%f';
    const first = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id });
    const again = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id });
    expect([first.status, again.status]).toEqual([202, 200]);
  });
});

describe('bad requests get problem details and store nothing', () => {
  it('404 UNKNOWN_INSTANCE', async () => {
    expectProblem(await postWebhook(stack, 'no-such-instance', secret, fixtureBytes(P1)), 404, 'UNKNOWN_INSTANCE');
    expectProblem(await postWebhook(stack, 'Bad_Id', secret, fixtureBytes(P1)), 404, 'UNKNOWN_INSTANCE');
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('400 MISSING_HEADER without %s', async (header) => {
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { headers: { [header]: null } }), 400, 'MISSING_HEADER');
  });

  it('400 INVALID_HEADER for an id with a dot or a malformed timestamp', async () => {
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id: 'evt.1' }), 400, 'INVALID_HEADER');
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { headers: { 'webhook-timestamp': 'soon' } }), 400, 'INVALID_HEADER');
  });

  it('400 INVALID_JSON for a correctly signed body that is not JSON', async () => {
    expectProblem(await postWebhook(stack, INSTANCE, secret, '{"event": '), 400, 'INVALID_JSON');
    expectProblem(await postWebhook(stack, INSTANCE, secret, Buffer.from([0x7b, 0xff, 0x7d])), 400, 'INVALID_JSON');
  });

  it('401 INVALID_SIGNATURE for a wrong secret, a tampered body, and no v1 entry', async () => {
    const wrong = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    expectProblem(await postWebhook(stack, INSTANCE, wrong, fixtureBytes(P1)), 401, 'INVALID_SIGNATURE');
    const id = 'evt_tampered';
    const ts = Math.floor(Date.now() / 1000);
    const signature = `v1,${sign(webhookKey(secret), id, ts, fixtureBytes(P1)).toString('base64')}`;
    const tampered = Buffer.from(fixtureBytes(P1).toString().replace('"1"', '"4"'));
    const res = await postWebhook(stack, INSTANCE, secret, tampered, { id, timestamp: ts, signature });
    expectProblem(res, 401, 'INVALID_SIGNATURE');
    expect(JSON.stringify(res.body)).not.toContain(signature.slice(3));
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { signature: 'v2,abcd' }), 401, 'INVALID_SIGNATURE');
  });

  it('401 TIMESTAMP_OUT_OF_TOLERANCE beyond 300 s either way', async () => {
    const now = Math.floor(Date.now() / 1000);
    // ±310 s, not ±301: a second boundary crossed during the round trip must not flip the answer (the
    // exact 300 s edge is pinned by the unit tests with a frozen clock).
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { timestamp: now - 310 }), 401, 'TIMESTAMP_OUT_OF_TOLERANCE');
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { timestamp: now + 310 }), 401, 'TIMESTAMP_OUT_OF_TOLERANCE');
    expect((await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { timestamp: now - 290 })).status).toBe(202);
  });

  it('413 PAYLOAD_TOO_LARGE over 64 KiB, checked before the signature', async () => {
    const big = JSON.stringify({ ...fixture(P1), padding: 'x'.repeat(64 * 1024) });
    expectProblem(await postWebhook(stack, INSTANCE, secret, big), 413, 'PAYLOAD_TOO_LARGE');
    expectProblem(await postWebhook(stack, INSTANCE, secret, big, { signature: 'v1,AAAA' }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('415 UNSUPPORTED_MEDIA_TYPE unless the body is declared JSON (charset allowed)', async () => {
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { headers: { 'content-type': null } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const ok = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.status).toBe(202);
  });

  it('422 INVALID_EVENT with field paths', async () => {
    const event = fixture(P1) as { record: Record<string, unknown>; sys_id: string };
    const res = await postWebhook(stack, INSTANCE, secret, JSON.stringify({ ...event, sys_id: 'XYZ', record: { ...event.record, priority: 1 } }));
    expectProblem(res, 422, 'INVALID_EVENT');
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['record.priority', 'sys_id']);
  });

  it('accepts unknown extra fields', async () => {
    const res = await postWebhook(stack, INSTANCE, secret, JSON.stringify({ ...fixture(P1), extra: { nested: true } }));
    expect(res.body.status).toBe('accepted');
  });

  it('a rejected request does not take its webhook-id', async () => {
    const id = `evt_retry_after_bad_${Date.now()}`;
    await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id, signature: 'v1,AAAA' });
    await postWebhook(stack, INSTANCE, secret, '{"event":"record.updated"}', { id });
    const good = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id });
    expect(good.body).toEqual({ status: 'accepted', id, notifications: 3 });
  });
});

describe('operator settings of an instance', () => {
  it('429 RATE_LIMITED with Retry-After only when a limit is set', async () => {
    const limitedSecret = await createInstance(stack, 'acme-limited', { webhookRateLimitPerMinute: 2 });
    // Unsigned requests do not use up the instance's budget.
    for (let i = 0; i < 3; i++) expect((await postWebhook(stack, 'acme-limited', limitedSecret, fixtureBytes(P1), { signature: 'v1,AAAA' })).status).toBe(401);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await postWebhook(stack, 'acme-limited', limitedSecret, fixtureBytes(P1)));
    expect(statuses.map((s) => s.status)).toEqual([202, 202, 429]);
    expectProblem(statuses[2]!, 429, 'RATE_LIMITED');
    expect(Number(statuses[2]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('custom rules replace the defaults', async () => {
    const rulesSecret = await createInstance(stack, 'acme-rules', {
      rules: [
        {
          kind: 'change.approved',
          table: 'sysapproval_approver',
          changedAny: ['state'],
          when: [{ field: 'state', op: 'equals', value: 'approved' }],
          recipients: [{ userFromField: 'approver' }],
        },
      ],
    });
    expect((await postWebhook(stack, 'acme-rules', rulesSecret, fixtureBytes('approval-approved.json'))).body.status).toBe('accepted');
    expect((await postWebhook(stack, 'acme-rules', rulesSecret, fixtureBytes(P1))).body.status).toBe('filtered');
  });

  it('user preferences decide the user sends and the count', async () => {
    const { preferences } = await stack.runtime();
    const assignee = '46d44a23a9fe19810012d100cca80666';
    await preferences.put(INSTANCE, assignee, { incidentAssigned: true, approvalRequested: true, criticalIncidents: true, maxPriority: 5, mutedUntil: new Date(Date.now() + 3_600_000).toISOString() });
    const muted = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1));
    expect(muted.body.notifications).toBe(2); // the two group sends only
    await preferences.put(INSTANCE, assignee, { incidentAssigned: true, approvalRequested: true, criticalIncidents: true, maxPriority: 5, mutedUntil: null });
    expect((await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1))).body.notifications).toBe(3);
  });

  it('a high-value event whose only recipient is muted is accepted with 0 notifications, not filtered', async () => {
    const { preferences } = await stack.runtime();
    const approver = '6816f79cc0a8016401c5a33be04be441';
    await preferences.put(INSTANCE, approver, { incidentAssigned: true, approvalRequested: false, criticalIncidents: true, maxPriority: 5, mutedUntil: null });
    try {
      const res = await postWebhook(stack, INSTANCE, secret, fixtureBytes('approval-requested-change.json'));
      expect(res.body).toEqual({ status: 'accepted', id: res.id, notifications: 0 });
      const again = await postWebhook(stack, INSTANCE, secret, fixtureBytes('approval-requested-change.json'), { id: res.id });
      expect(again.body.status).toBe('duplicate');
    } finally {
      await preferences.put(INSTANCE, approver, { incidentAssigned: true, approvalRequested: true, criticalIncidents: true, maxPriority: 5, mutedUntil: null });
    }
  });
});

describe('webhook secret rotation', () => {
  it('keeps the previous secret valid for 24 h, then only the new one', async () => {
    const oldSecret = await createInstance(stack, 'acme-rotate');
    const rotated = await call(stack, 'admin/instances/acme-rotate/webhook-secret/rotate', { method: 'POST' });
    expect(rotated.status).toBe(200);
    const { webhookSecret, previousValidUntil } = rotated.body as { webhookSecret: string; previousValidUntil: string };
    expect(webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(webhookSecret).not.toBe(oldSecret);
    expect(Date.parse(previousValidUntil) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    expect((await postWebhook(stack, 'acme-rotate', oldSecret, fixtureBytes(P1))).status).toBe(202);
    expect((await postWebhook(stack, 'acme-rotate', webhookSecret, fixtureBytes(P1))).status).toBe(202);
    stack.clock.advance(24 * 3_600_000 + 1_000);
    try {
      expectProblem(await postWebhook(stack, 'acme-rotate', oldSecret, fixtureBytes(P1)), 401, 'INVALID_SIGNATURE');
      expect((await postWebhook(stack, 'acme-rotate', webhookSecret, fixtureBytes(P1))).status).toBe(202);
    } finally {
      stack.clock.advance(-(24 * 3_600_000 + 1_000));
    }
  });
});
