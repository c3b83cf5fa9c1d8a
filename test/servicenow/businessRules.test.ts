import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../src/lib/rules/defaultRules.js';
import { matchEvent } from '../../src/lib/rules/matchEvent.js';
import { eventEnvelopeSchema } from '../../src/lib/webhooks/envelope.js';
import { EXPECTED, fixture } from '../support/fixtures.js';
import { recordFromEnvelope, type HttpRequest, type RecordSpec } from './glideShim.js';
import { BUSINESS_RULES, buildEnvelope, fire, loadedGlide, ruleFor } from './sources.js';

const PROPERTIES = {
  'x_flowquest.endpoint': 'https://bridge.example.net',
  'x_flowquest.instance_id': 'acme-prod',
  'x_flowquest.webhook_secret': `whsec_${Buffer.alloc(32, 9).toString('base64')}`,
};

function instance() {
  const requests: HttpRequest[] = [];
  const glide = loadedGlide({
    properties: PROPERTIES,
    transport: (request) => {
      requests.push(request);
      return { status: 202, body: '{"status":"accepted","notifications":1}' };
    },
  });
  return { glide, requests };
}

const USER_A = '46d44a23a9fe19810012d100cca80666';
const USER_B = '5137153cc611227c000bbd1bd8cd2007';
const GROUP = '287ebd7da9fe198100f92cc8d1d2154e';

function incident(operation: RecordSpec['operation'], values: Record<string, string>, changed: string[] = []): RecordSpec {
  return {
    table: 'incident',
    operation,
    values: { sys_id: 'c'.repeat(32), number: 'INC0010500', sys_updated_on: '2026-11-22 12:00:00', sys_updated_by: 'admin', state: '2', short_description: 'Test', ...values },
    changed,
  };
}

function approval(operation: RecordSpec['operation'], state: string, changed: string[] = []): RecordSpec {
  return {
    table: 'sysapproval_approver',
    operation,
    values: { sys_id: 'd'.repeat(32), sys_updated_on: '2026-11-22 12:00:00', state, approver: USER_A, sysapproval: 'e'.repeat(32), source_table: 'change_request' },
    changed,
  };
}

describe('the business rule records', () => {
  it('one per table, after insert and update (not delete), late in the order, calling the Script Include', () => {
    expect(BUSINESS_RULES.map((r) => r.meta.collection).sort()).toEqual(['incident', 'sysapproval_approver']);
    for (const rule of BUSINESS_RULES) {
      expect(rule.meta).toMatchObject({ when: 'after', action_insert: true, action_update: true, action_delete: false, order: 10000 });
      expect(rule.meta.name).toMatch(/^FlowQuest: /);
      expect(rule.script).toContain('new FlowQuestWebhook().notify(current, previous);');
      expect(rule.script).toMatch(/^\(function executeRule\(current, previous[^)]*\) \{$/m);
    }
  });
});

/**
 * Changes a business rule sees, and whether its condition should let them through. "expected" is what the
 * bridge's default rules decide on the envelope the Script Include builds: the condition must agree, so that
 * what is dropped at the source is exactly what the bridge would filter.
 */
const CASES: [string, RecordSpec][] = [
  ['incident inserted, assigned, P4', incident('insert', { priority: '4', assigned_to: USER_A })],
  ['incident inserted, unassigned, P2', incident('insert', { priority: '2', assignment_group: GROUP })],
  ['incident inserted, unassigned, P3', incident('insert', { priority: '3' })],
  ['incident reassigned', incident('update', { priority: '4', assigned_to: USER_B }, ['assigned_to'])],
  ['incident assignee cleared', incident('update', { priority: '4', assigned_to: '' }, ['assigned_to'])],
  ['incident escalated to P1', incident('update', { priority: '1' }, ['priority'])],
  ['incident escalated to P2 while assigned', incident('update', { priority: '2', assigned_to: USER_A }, ['priority', 'urgency'])],
  ['incident lowered to P3', incident('update', { priority: '3', assigned_to: USER_A }, ['priority'])],
  ['incident P1, assigned, only state changed', incident('update', { priority: '1', assigned_to: USER_A, state: '6' }, ['state'])],
  ['incident P1, only work notes', incident('update', { priority: '1', assigned_to: USER_A }, ['work_notes'])],
  ['approval inserted requested', approval('insert', 'requested')],
  ['approval inserted not yet requested', approval('insert', 'not requested')],
  ['approval becomes requested', approval('update', 'requested', ['state'])],
  ['approval approved', approval('update', 'approved', ['state'])],
  ['approval commented while requested', approval('update', 'requested', ['comments'])],
];

for (const name of Object.keys(EXPECTED)) {
  CASES.push([`fixture ${name}`, recordFromEnvelope(fixture(name) as Parameters<typeof recordFromEnvelope>[0])]);
}

describe('the conditions drop at the source exactly what the bridge would filter', () => {
  it.each(CASES)('%s', (_name, record) => {
    const { glide, requests } = instance();
    const envelope = eventEnvelopeSchema.parse(buildEnvelope(glide, record).envelope);
    const bridgeWouldNotify = matchEvent(DEFAULT_RULES, envelope, 'acme-prod').length > 0;
    const met = fire(glide, ruleFor(record.table), record);
    expect(met).toBe(bridgeWouldNotify);
    expect(requests).toHaveLength(met ? 1 : 0);
  });

  it('agree with the fixtures README', () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const record = recordFromEnvelope(fixture(name) as Parameters<typeof recordFromEnvelope>[0]);
      expect([name, fire(instance().glide, ruleFor(record.table), record)]).toEqual([name, expected.status === 'accepted']);
    }
  });
});
