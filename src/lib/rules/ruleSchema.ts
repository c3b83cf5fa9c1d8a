import { z } from 'zod';

/**
 * Declarative notification rules (CONTRACT.md §2). An instance may replace the defaults with its own
 * list; rules are data, never code, so an operator cannot make the bridge run anything.
 */
const fieldName = z.string().regex(/^[a-z0-9_]{1,80}$/, 'a ServiceNow field name');

export const conditionSchema = z.discriminatedUnion('op', [
  z.object({ field: fieldName, op: z.literal('equals'), value: z.string().max(256) }),
  z.object({ field: fieldName, op: z.literal('in'), values: z.array(z.string().max(256)).min(1).max(50) }),
  z.object({ field: fieldName, op: z.literal('notEmpty') }),
  z.object({ field: fieldName, op: z.literal('empty') }),
]);

export const recipientSchema = z.union([
  /** The user whose sys_id is in this field: `{instanceId}:{sys_id}`. */
  z.object({ userFromField: fieldName }).strict(),
  /** The ServiceNow group whose sys_id is in this field: `{instanceId}:group:{sys_id}`. */
  z.object({ groupFromField: fieldName }).strict(),
  /** A named group of the bridge: `{instanceId}:{name}`, e.g. `critical`. */
  z.object({ group: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/).refine((g) => g !== 'group', 'reserved') }).strict(),
]);

export const ruleSchema = z.object({
  kind: z.string().regex(/^[a-z0-9_-]{1,30}\.[a-z0-9_.-]{1,40}$/, 'a kind such as "incident.assigned"'),
  table: z.string().regex(/^[a-z0-9_]{1,80}$/),
  on: z
    .array(z.enum(['record.inserted', 'record.updated', 'record.deleted']))
    .min(1)
    .default(['record.inserted', 'record.updated']),
  /** For updates: at least one of these fields must be in `changed`. Inserts and deletes always pass. */
  changedAny: z.array(fieldName).max(50).optional(),
  when: z.array(conditionSchema).max(20).default([]),
  recipients: z.array(recipientSchema).min(1).max(10),
});

export const rulesSchema = z.array(ruleSchema).max(50);

export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type Condition = z.output<typeof conditionSchema>;
export type Recipient = z.output<typeof recipientSchema>;
