import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevServiceNow, type DevServiceNow } from '../../dev/servicenow/instance.js';
import { fixtureBytes } from '../support/fixtures.js';
import { asUser, signIn } from '../support/signIn.js';
import { call, createInstance, postWebhook, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let sn: DevServiceNow;
let secret: string;
const INSTANCE = 'acme-prod';
const DAY = 24 * 3_600_000;
const P1 = 'incident-p1-inserted-assigned.json';

beforeAll(async () => {
  stack = await startTestStack();
  sn = await startDevServiceNow({ port: 0 });
  secret = await createInstance(stack, INSTANCE, { baseUrl: sn.url });
});
afterAll(async () => {
  await sn?.close();
  await stack?.close();
});

it('a message put in the inbox late, by a retry, still reaches a client that has paged past its receipt', async () => {
  const session = await signIn(stack, sn, INSTANCE, 'david.loo', 'late-phone');
  stack.secrets.add(session.sessionToken).add(session.accessToken);
  const inboxAfter = async (cursor: string | null) =>
    (await call(stack, `notifications?limit=100${cursor ? `&after=${cursor}` : ''}`, asUser(session.sessionToken))).body as { items: { eventId: string }[]; next: string | null };
  const runtime = await stack.runtime();
  // Received first, but its first settle is lost: still pending, with no inbox row yet.
  const late = await postWebhook(stack, INSTANCE, secret, fixtureBytes('incident-reassigned-p3.json'));
  await runtime.delivery.flush();
  const stored = (await runtime.events.get(INSTANCE, late.id))!;
  const rows = runtime.tables.events.listEntities({ queryOptions: { filter: `PartitionKey eq '${INSTANCE}' and RowKey ge 'i:5137153cc611227c000bbd1bd8cd2007:' and RowKey lt 'i:5137153cc611227c000bbd1bd8cd2007;'` } });
  for await (const row of rows) await runtime.tables.events.deleteEntity(INSTANCE, row.rowKey!);
  await runtime.events.replace({ ...stored, status: 'pending', pending: [0], inboxWritten: false, nextAttemptAt: stack.clock.now() + 30_000 });
  // Received later and delivered normally; the client reads its inbox to the end and keeps a cursor.
  const newer = await postWebhook(stack, INSTANCE, secret, fixtureBytes('incident-reassigned-p3.json'));
  await runtime.delivery.flush();
  const seen = await inboxAfter(null);
  expect(seen.items.map((m) => m.eventId)).toEqual([newer.id]);
  // The retry writes the late message into the inbox: it sorts after what the client has already seen,
  // so paging on from there finds it (keyed by receipt time, it would sort before and be skipped).
  stack.clock.advance(31_000);
  await stack.host.runFunction('outboxRetry');
  expect((await inboxAfter(null)).items.map((m) => m.eventId)).toEqual([newer.id, late.id]);
});

it('the daily clean-up keeps dedupe rows at least 7 days and inbox items 7 days, then removes them', async () => {
  const session = await signIn(stack, sn, INSTANCE, 'beth.anglin');
  stack.secrets.add(session.sessionToken).add(session.accessToken);
  const event = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1));
  await (await stack.runtime()).delivery.flush();
  const inbox = async () => (await call(stack, 'notifications', asUser(session.sessionToken))).body.items as { eventId: string }[];
  expect((await inbox()).map((m) => m.eventId)).toContain(event.id);

  // After 7 days minus an hour nothing is gone: a repeat is still a duplicate, the inbox still has it.
  stack.clock.advance(7 * DAY - 3_600_000);
  await stack.host.runFunction('dailyCleanup');
  const timestamp = Math.floor(stack.clock.now() / 1000);
  expect((await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id: event.id, timestamp })).body.status).toBe('duplicate');
  expect((await inbox()).map((m) => m.eventId)).toContain(event.id);

  // Ten days on, the clean-up has removed the inbox item and the dedupe row.
  stack.clock.advance(3 * DAY);
  await stack.host.runFunction('dailyCleanup');
  expect((await inbox()).map((m) => m.eventId)).not.toContain(event.id);
  const again = await postWebhook(stack, INSTANCE, secret, fixtureBytes(P1), { id: event.id, timestamp: Math.floor(stack.clock.now() / 1000) });
  expect(again.body.status).toBe('accepted');
});

it('the daily clean-up removes expired sessions with their refresh-token secrets', async () => {
  const session = await signIn(stack, sn, INSTANCE, 'david.loo', 'old-phone');
  stack.secrets.add(session.sessionToken).add(session.accessToken);
  const runtime = await stack.runtime();
  const { refreshSecretName, sid } = await runtime.sessions.authenticate(`Bearer ${session.sessionToken}`);
  stack.clock.advance(31 * DAY);
  await stack.host.runFunction('dailyCleanup');
  expect(await runtime.secrets.get(refreshSecretName)).toBeUndefined();
  expect(await runtime.sessionStore.get(INSTANCE, '5137153cc611227c000bbd1bd8cd2007', sid)).toBeUndefined();
});
