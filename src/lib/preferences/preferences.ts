import { z } from 'zod';

/** A user's notification preferences (CONTRACT.md §2), with the contract's defaults. */
export const preferencesSchema = z
  .object({
    incidentAssigned: z.boolean(),
    approvalRequested: z.boolean(),
    criticalIncidents: z.boolean(),
    maxPriority: z.number().int().min(1).max(5),
    // Any offset is accepted; answers carry UTC (`2026-11-22T09:14:03Z`), as every time of the API.
    mutedUntil: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(Math.floor(Date.parse(v) / 1000) * 1000).toISOString().replace('.000Z', 'Z'))
      .nullable(),
  })
  .strict();

export type Preferences = z.output<typeof preferencesSchema>;

export const DEFAULT_PREFERENCES: Readonly<Preferences> = Object.freeze({
  incidentAssigned: true,
  approvalRequested: true,
  criticalIncidents: true,
  maxPriority: 5,
  mutedUntil: null,
});

export interface SendFacts {
  kind: string;
  table: string;
  priority?: number;
}

/** Whether a notification may be sent to a user with these preferences at `nowMs`. */
export function allowsSend(prefs: Preferences, send: SendFacts, nowMs: number): boolean {
  if (prefs.mutedUntil !== null && Date.parse(prefs.mutedUntil) > nowMs) return false;
  if (send.kind === 'incident.assigned' && !prefs.incidentAssigned) return false;
  if (send.kind === 'approval.requested' && !prefs.approvalRequested) return false;
  if (send.kind === 'incident.critical' && !prefs.criticalIncidents) return false;
  if (send.table === 'incident' && send.priority !== undefined && send.priority > prefs.maxPriority) return false;
  return true;
}
