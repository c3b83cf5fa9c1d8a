import { describe, expect, it } from 'vitest';
import { buildNotification, byteLength, MAX_NOTIFICATION_BYTES } from '../../src/lib/notifications/buildNotification.js';
import { truncateTitle } from '../../src/lib/notifications/truncateTitle.js';
import { DEFAULT_RULES } from '../../src/lib/rules/defaultRules.js';
import { matchEvent } from '../../src/lib/rules/matchEvent.js';
import { rulesSchema } from '../../src/lib/rules/ruleSchema.js';
import { eventEnvelopeSchema, type EventEnvelope } from '../../src/lib/webhooks/envelope.js';
import { EXPECTED, fixture, fixtureNames, p1AssignedMessage } from '../support/fixtures.js';

const INSTANCE = 'acme-prod';
const envelope = (name: string): EventEnvelope => eventEnvelopeSchema.parse(fixture(name));

describe('default rules on the shared fixtures', () => {
  it('covers every fixture', () => {
    expect(fixtureNames().sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const matches = matchEvent(DEFAULT_RULES, envelope(name), INSTANCE);
    const sends = matches.flatMap((m) => m.targets.map((t) => `${m.kind} ${t.type} ${t.id}`));
    if (expected.status === 'filtered') expect(sends).toEqual([]);
    else expect(sends.sort()).toEqual(expected.sends.map((s) => s.replaceAll('{i}', INSTANCE)).sort());
  });

  it('does not notify an update that changed neither assignee nor priority', () => {
    const event = { ...envelope('incident-p1-inserted-assigned.json'), event: 'record.updated' as const, changed: ['state'] };
    expect(matchEvent(DEFAULT_RULES, event, INSTANCE)).toEqual([]);
  });

  it('does not notify deletions by default', () => {
    const event = { ...envelope('incident-p1-inserted-assigned.json'), event: 'record.deleted' as const };
    expect(matchEvent(DEFAULT_RULES, event, INSTANCE)).toEqual([]);
  });
});

describe('operator rules', () => {
  it('are validated and can notify on other tables', () => {
    const rules = rulesSchema.parse([
      {
        kind: 'change.approved',
        table: 'sysapproval_approver',
        changedAny: ['state'],
        when: [{ field: 'state', op: 'equals', value: 'approved' }],
        recipients: [{ userFromField: 'approver' }, { group: 'approvals' }],
      },
    ]);
    const matches = matchEvent(rules, envelope('approval-approved.json'), INSTANCE);
    expect(matches).toEqual([
      {
        kind: 'change.approved',
        targets: [
          { type: 'user', id: 'acme-prod:6816f79cc0a8016401c5a33be04be441' },
          { type: 'group', id: 'acme-prod:approvals' },
        ],
      },
    ]);
  });

  it('reject code-like or malformed rules with a path', () => {
    const result = rulesSchema.safeParse([{ kind: 'x', table: 'incident', recipients: [{ script: 'gs.info()' }] }]);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['0.kind', '0.recipients.0']));
  });
});

describe('notification message', () => {
  it('has the contract shape', () => {
    const message = buildNotification(envelope('incident-p1-inserted-assigned.json'), 'incident.assigned', INSTANCE, 'wh-1');
    expect(message).toEqual(p1AssignedMessage(INSTANCE, 'wh-1'));
  });

  it('titles an approval without a short description', () => {
    const message = buildNotification(envelope('approval-requested-change.json'), 'approval.requested', INSTANCE, 'wh-2');
    expect(message.title).toBe('Approval requested for CHG0030002');
    expect(message).not.toHaveProperty('priority');
    expect(message).not.toHaveProperty('number');
  });

  it('cuts titles to 120 code points without splitting a surrogate pair', () => {
    const text = '😀'.repeat(200);
    const cut = truncateTitle(text);
    expect(Array.from(cut)).toHaveLength(120);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(truncateTitle('short')).toBe('short');
  });

  it('stays within 1024 bytes for the worst inputs the schema allows', () => {
    const base = envelope('incident-p1-inserted-assigned.json');
    const event: EventEnvelope = {
      ...base,
      number: 'N'.repeat(40),
      table: 't'.repeat(80),
      record: { ...base.record, short_description: '"\\\u0001😀'.repeat(100), state: '\u0001'.repeat(100) },
    };
    const id = '"\\'.repeat(64);
    const message = buildNotification(event, `${'k'.repeat(30)}.${'x'.repeat(40)}`, 'i'.repeat(63), id);
    expect(byteLength(message)).toBeLessThanOrEqual(MAX_NOTIFICATION_BYTES);
    expect(message.id).toBe(`${id}:${'k'.repeat(30)}.${'x'.repeat(40)}`);
  });
});
