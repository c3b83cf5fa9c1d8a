import type { EventEnvelope } from '../webhooks/envelope.js';
import type { Condition, Recipient, Rule } from './ruleSchema.js';

export type Target = { type: 'user'; id: string } | { type: 'group'; id: string };

/** One rule that matched, with where its notification goes. */
export interface Match {
  kind: string;
  targets: Target[];
}

function holds(condition: Condition, record: Record<string, string>): boolean {
  const value = record[condition.field] ?? '';
  switch (condition.op) {
    case 'equals':
      return value === condition.value;
    case 'in':
      return condition.values.includes(value);
    case 'notEmpty':
      return value !== '';
    case 'empty':
      return value === '';
  }
}

function resolve(recipient: Recipient, record: Record<string, string>, instanceId: string): Target | undefined {
  if ('userFromField' in recipient) {
    const sysId = record[recipient.userFromField];
    return sysId ? { type: 'user', id: `${instanceId}:${sysId}` } : undefined;
  }
  if ('groupFromField' in recipient) {
    const sysId = record[recipient.groupFromField];
    return sysId ? { type: 'group', id: `${instanceId}:group:${sysId}` } : undefined;
  }
  return { type: 'group', id: `${instanceId}:${recipient.group}` };
}

function applies(rule: Rule, event: EventEnvelope): boolean {
  if (rule.table !== event.table || !rule.on.includes(event.event)) return false;
  if (event.event === 'record.updated' && rule.changedAny && !rule.changedAny.some((f) => event.changed.includes(f))) {
    return false;
  }
  return rule.when.every((c) => holds(c, event.record));
}

/** Every rule the event matches, each with its resolved targets (a rule whose targets are all empty is no match). */
export function matchEvent(rules: readonly Rule[], event: EventEnvelope, instanceId: string): Match[] {
  const matches: Match[] = [];
  for (const rule of rules) {
    if (!applies(rule, event)) continue;
    const targets = rule.recipients
      .map((r) => resolve(r, event.record, instanceId))
      .filter((t): t is Target => t !== undefined);
    if (targets.length > 0) matches.push({ kind: rule.kind, targets });
  }
  return matches;
}
