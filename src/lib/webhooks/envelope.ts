import { z } from 'zod';

/** Table API values with `sysparm_display_value=false` are always strings (reference fields are sys_ids). */
const rawRecord = z.record(z.string().max(256), z.string({ error: 'record values must be strings (raw Table API values)' }));

/** The event envelope v1 (CONTRACT.md §1). Unknown extra fields are accepted and dropped. */
export const eventEnvelopeSchema = z.object({
  event: z.enum(['record.inserted', 'record.updated', 'record.deleted']),
  table: z.string().regex(/^[a-z0-9_]{1,80}$/, 'a ServiceNow table name (lowercase letters, digits, _)'),
  sys_id: z.string().regex(/^[0-9a-f]{32}$/, '32 lowercase hex characters'),
  number: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'a record number such as INC0010042').optional(),
  sys_updated_on: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, 'a ServiceNow UTC date-time, "YYYY-MM-DD hh:mm:ss"')
    .refine((s) => !Number.isNaN(Date.parse(`${s.replace(' ', 'T')}Z`)), 'not a real date'),
  sys_updated_by: z.string().max(100).optional(),
  changed: z.array(z.string().max(256)).max(500),
  record: rawRecord,
  display: z.record(z.string().max(256), z.string()).optional(),
});

export type EventEnvelope = z.output<typeof eventEnvelopeSchema>;
