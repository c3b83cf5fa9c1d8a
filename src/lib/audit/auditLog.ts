import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { Clock } from '../core/clock.js';
import { tableCall } from '../storage/tableCall.js';
import { timeKey } from '../storage/keys.js';

export type AuditAction =
  | 'session.signin'
  | 'session.refresh'
  | 'session.signout'
  | 'instance.create'
  | 'instance.update'
  | 'instance.delete'
  | 'instance.secret-rotate';

export interface AuditEntry {
  action: AuditAction;
  instanceId: string;
  /** Who: `{instanceId}:{userSysId}` for a user, `operator` for an admin-key caller. */
  actor: string;
  outcome: 'success' | 'failure';
  /** A code or a short fact, never a secret or token. */
  detail?: string;
}

/**
 * Append-only audit trail (PK instanceId, RK time + random): rows are only ever inserted. An audit
 * write that fails is logged and does not fail the operation it records.
 */
export class AuditLog {
  constructor(
    private readonly table: TableClient,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const now = this.clock.now();
    try {
      await tableCall('write audit', () =>
        this.table.createEntity({
          partitionKey: entry.instanceId,
          rowKey: `${timeKey(now)}:${randomBytes(6).toString('hex')}`,
          action: entry.action,
          actor: entry.actor,
          outcome: entry.outcome,
          ...(entry.detail ? { detail: entry.detail.slice(0, 200) } : {}),
          at: new Date(now),
        }),
      );
    } catch {
      this.log(`audit: could not record ${entry.action} (${entry.outcome}) for ${entry.instanceId}`);
    }
  }

  async list(instanceId: string, limit = 100): Promise<Array<AuditEntry & { at: string }>> {
    const items: Array<AuditEntry & { at: string }> = [];
    for await (const e of this.table.listEntities<AuditEntry & { at: Date }>({ queryOptions: { filter: `PartitionKey eq '${instanceId.replace(/'/g, "''")}'` } })) {
      items.push({ action: e.action, instanceId, actor: e.actor, outcome: e.outcome, ...(e.detail ? { detail: e.detail } : {}), at: new Date(e.at).toISOString() });
      if (items.length >= limit) break;
    }
    return items;
  }
}
