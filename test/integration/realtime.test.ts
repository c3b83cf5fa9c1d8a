import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixtureBytes, p1AssignedMessage } from '../support/fixtures.js';
import { connectClient, type TestClient } from '../support/realtime.js';
import { createInstance, postWebhook, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let secret: string;
const clients: TestClient[] = [];
const INSTANCE = 'acme-prod';
const BETH = '46d44a23a9fe19810012d100cca80666';
const NETWORK_GROUP = '287ebd7da9fe198100f92cc8d1d2154e';

beforeAll(async () => {
  stack = await startTestStack();
  secret = await createInstance(stack, INSTANCE);
});
afterAll(async () => {
  clients.forEach((c) => c.stop());
  await stack?.close();
});

it('delivers a P1 incident to the assignee, the critical group and the assignment group', async () => {
  const beth = await connectClient(stack, `${INSTANCE}:${BETH}`, [`${INSTANCE}:critical`]);
  const network = await connectClient(stack, `${INSTANCE}:someone-else`, [`${INSTANCE}:group:${NETWORK_GROUP}`]);
  const bystander = await connectClient(stack, `${INSTANCE}:bystander`);
  clients.push(beth, network, bystander);

  const res = await postWebhook(stack, INSTANCE, secret, fixtureBytes('incident-p1-inserted-assigned.json'));
  expect(res.body.notifications).toBe(3);
  await beth.waitFor((r) => r.length >= 2);
  await network.waitFor((r) => r.length >= 1);

  const assigned = beth.received.find((r) => r.from === 'server');
  expect(assigned?.data).toEqual(p1AssignedMessage(INSTANCE, res.id));
  expect(beth.received.find((r) => r.from === 'group')).toMatchObject({ group: `${INSTANCE}:critical`, data: { kind: 'incident.critical' } });
  expect(network.received).toEqual([
    expect.objectContaining({ from: 'group', group: `${INSTANCE}:group:${NETWORK_GROUP}`, data: expect.objectContaining({ id: `${res.id}:incident.critical` }) }),
  ]);
  await new Promise((r) => setTimeout(r, 100));
  expect(bystander.received).toEqual([]);
});

it('keeps every user-directed message in the user inbox, not group messages', async () => {
  const res = await postWebhook(stack, INSTANCE, secret, fixtureBytes('approval-requested-change.json'));
  expect(res.body.status).toBe('accepted');
  const runtime = await stack.runtime();
  await runtime.delivery.flush();
  const rows = [];
  for await (const row of runtime.tables.events.listEntities<{ message: string }>({
    queryOptions: { filter: `PartitionKey eq '${INSTANCE}' and RowKey ge 'i:' and RowKey lt 'i;'` },
  })) {
    rows.push(JSON.parse(row.message) as { eventId: string; kind: string });
  }
  expect(rows).toContainEqual(expect.objectContaining({ eventId: res.id, kind: 'approval.requested' }));
  expect(rows.filter((m) => m.kind === 'incident.critical')).toEqual([]);
});
