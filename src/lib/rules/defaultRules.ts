import type { Rule } from './ruleSchema.js';

/** The three default rules of CONTRACT.md §2, written in the same language an operator can use. */
export const DEFAULT_RULES: readonly Rule[] = [
  {
    kind: 'incident.assigned',
    table: 'incident',
    on: ['record.inserted', 'record.updated'],
    changedAny: ['assigned_to'],
    when: [{ field: 'assigned_to', op: 'notEmpty' }],
    recipients: [{ userFromField: 'assigned_to' }],
  },
  {
    kind: 'incident.critical',
    table: 'incident',
    on: ['record.inserted', 'record.updated'],
    changedAny: ['priority'],
    when: [{ field: 'priority', op: 'in', values: ['1', '2'] }],
    recipients: [{ group: 'critical' }, { groupFromField: 'assignment_group' }],
  },
  {
    kind: 'approval.requested',
    table: 'sysapproval_approver',
    on: ['record.inserted', 'record.updated'],
    changedAny: ['state'],
    when: [{ field: 'state', op: 'equals', value: 'requested' }],
    recipients: [{ userFromField: 'approver' }],
  },
];
