import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, createInstance, postWebhook, startTestStack, type TestStack } from '../support/stack.js';
import { fixtureBytes } from '../support/fixtures.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

it('boots, creates an instance and accepts a signed fixture', async () => {
  const health = await call(stack, 'health', { key: null });
  expect(health.status).toBe(200);
  const secret = await createInstance(stack, 'acme-prod');
  const res = await postWebhook(stack, 'acme-prod', secret, fixtureBytes('incident-p1-inserted-assigned.json'));
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ status: 'accepted', id: res.id, notifications: 3 });
});
