import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBytes } from '../support/fixtures.js';
import { connectClient } from '../support/realtime.js';
import { call, createInstance, postWebhook, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let secret: string;
// On disk, so that an Azurite restart is an outage, not a loss of data.
const stateDir = mkdtempSync(path.join(tmpdir(), 'fq-faults-'));
const INSTANCE = 'acme-prod';
const BETH = '46d44a23a9fe19810012d100cca80666';
const P1 = 'incident-p1-inserted-assigned.json';

beforeAll(async () => {
  stack = await startTestStack({ SEND_TIMEOUT_MS: '500' }, stateDir);
  secret = await createInstance(stack, INSTANCE);
});
afterAll(async () => {
  await stack?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('Web PubSub outage', () => {
  it('loses nothing during a burst: every message arrives after it returns, none twice after dedupe by id', async () => {
    const beth = await connectClient(stack, `${INSTANCE}:${BETH}`, [`${INSTANCE}:critical`]);
    try {
      await stack.stopWebPubSub();
      const burst = await Promise.all(Array.from({ length: 25 }, () => postWebhook(stack, INSTANCE, secret, fixtureBytes(P1))));
      // Durable before acknowledged: every event is accepted although nothing could be sent.
      expect(burst.map((r) => r.body.status)).toEqual(Array(25).fill('accepted'));
      const runtime = await stack.runtime();
      await runtime.delivery.flush();

      const connectedBefore = beth.connections();
      await stack.startWebPubSub();
      // The app reconnects on its own; what it missed meanwhile is in its inbox and in the outbox.
      const deadline = Date.now() + 10_000;
      while (beth.connections() === connectedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Nothing is due before the first retry delay.
      const early = await runtime.delivery.retryDue([INSTANCE]);
      expect(early.attempted).toBe(0);
      stack.clock.advance(31_000);
      await stack.host.runFunction('outboxRetry');

      const expected = burst.flatMap((r) => [`${r.id}:incident.assigned`, `${r.id}:incident.critical`]).sort();
      await beth.waitFor(() => beth.unique().length >= expected.length, 10_000);
      expect(beth.unique().map((m) => m.id).sort()).toEqual(expected);
      // A second pass has nothing left to send.
      stack.clock.advance(31_000);
      const before = beth.received.length;
      await stack.host.runFunction('outboxRetry');
      await new Promise((r) => setTimeout(r, 200));
      expect(beth.received.length).toBe(before);
    } finally {
      beth.stop();
    }
  });

  it('dead-letters after 24 h and delivers on replay', async () => {
    await stack.stopWebPubSub();
    const res = await postWebhook(stack, INSTANCE, secret, fixtureBytes('approval-requested-change.json'));
    expect(res.body.status).toBe('accepted');
    await (await stack.runtime()).delivery.flush();
    // Walk the retry schedule: 30 s, 1 m, 5 m, 30 m, 2 h, 6 h, … up to the 24-hour mark.
    for (let hour = 0; hour < 26; hour += 1) {
      stack.clock.advance(3_600_000);
      await stack.host.runFunction('outboxRetry');
    }
    const list = await call(stack, `admin/deadletters?instanceId=${INSTANCE}`);
    expect(list.status).toBe(200);
    const letter = list.body.items.find((d: { eventId: string }) => d.eventId === res.id);
    expect(letter).toMatchObject({ instanceId: INSTANCE, kinds: ['approval.requested'], targets: [`user:${INSTANCE}:6816f79cc0a8016401c5a33be04be441`] });
    expect(letter.attempts).toBeGreaterThanOrEqual(7);

    await stack.startWebPubSub();
    const approver = await connectClient(stack, `${INSTANCE}:6816f79cc0a8016401c5a33be04be441`);
    try {
      const replay = await call(stack, `admin/deadletters/${letter.id}/replay`, { method: 'POST' });
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({ id: letter.id, eventId: res.id, status: 'delivered' });
      await approver.waitFor((r) => r.some((m) => m.data.eventId === res.id));
      const after = await call(stack, `admin/deadletters?instanceId=${INSTANCE}`);
      expect(after.body.items.find((d: { eventId: string }) => d.eventId === res.id)).toBeUndefined();
      const again = await call(stack, `admin/deadletters/${letter.id}/replay`, { method: 'POST' });
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('DEADLETTER_NOT_FOUND');
    } finally {
      approver.stop();
    }
  });
});

describe('Key Vault outage', () => {
  it('still verifies webhooks from the cached secret; a cold cache answers 503', async () => {
    expect((await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1))).status).toBe(202);
    const coldSecret = await createInstance(stack, 'acme-cold');
    await stack.stopKeyVault();
    try {
      expect((await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1))).status).toBe(202);
      const cold = await postWebhook(stack, 'acme-cold', coldSecret, fixtureBytes(P1));
      expect(cold.status).toBe(503);
      expect(cold.body.code).toBe('KEY_VAULT_UNAVAILABLE');
      expect(cold.headers.get('retry-after')).toMatch(/^\d+$/);
      const health = await call(stack, 'health', { key: null });
      expect(health.body).toMatchObject({ status: 'degraded', checks: { tables: 'ok', keyVault: 'down', webPubSub: 'ok' } });
    } finally {
      await stack.startKeyVault();
    }
  });
});

describe('Key Vault outage during a secret rotation', () => {
  it('answers 503 (ServiceNow retries), not 401, for a signature that may be made with the secret it cannot read', async () => {
    const oldSecret = await createInstance(stack, 'acme-rotating');
    expect((await postWebhook(stack, 'acme-rotating', oldSecret, fixtureBytes(P1))).status).toBe(202);
    const rotated = await call(stack, 'admin/instances/acme-rotating/webhook-secret/rotate', { method: 'POST' });
    await stack.stopKeyVault();
    try {
      expect((await postWebhook(stack, 'acme-rotating', oldSecret, fixtureBytes(P1))).status).toBe(202);
      const withNew = await postWebhook(stack, 'acme-rotating', rotated.body.webhookSecret, fixtureBytes(P1));
      expect([withNew.status, withNew.body.code]).toEqual([503, 'KEY_VAULT_UNAVAILABLE']);
    } finally {
      await stack.startKeyVault();
    }
    expect((await postWebhook(stack, 'acme-rotating', rotated.body.webhookSecret, fixtureBytes(P1))).status).toBe(202);
  });
});

describe('Tables outage', () => {
  it('answers 503 with Retry-After, never a 2xx, and accepts the same event once Tables is back', async () => {
    const id = `evt_tables_down_${Date.now()}`;
    await stack.stopAzurite();
    try {
      const res = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('STORAGE_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const health = await call(stack, 'health', { key: null });
      expect(health.status).toBe(503);
      expect(health.body.status).toBe('down');
      expect(health.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await stack.startAzurite();
    }
    const again = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id });
    expect(again.body).toEqual({ status: 'accepted', id, notifications: 3 });
  });
});
