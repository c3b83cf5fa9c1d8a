import { odata, type TableClient } from '@azure/data-tables';
import { ProblemError } from '../core/errors.js';
import { isoSeconds } from '../core/clock.js';
import { statusOf, tableCall } from '../storage/tableCall.js';
import { fromKey, toKey } from '../storage/keys.js';
import { INSTANCE_ID } from '../instances/instance.js';
import type { EventRecord } from './types.js';

export interface DeadLetter {
  id: string;
  instanceId: string;
  eventId: string;
  kinds: string[];
  targets: string[];
  attempts: number;
  lastError: string | null;
  receivedAt: string;
  deadLetteredAt: string;
}

interface DeadLetterEntity {
  partitionKey: string;
  rowKey: string;
  webhookId: string;
  kinds: string;
  targets: string;
  attempts: number;
  lastError?: string;
  receivedAt: Date;
  deadLetteredAt: Date;
}

/** A dead letter's id names its instance and event, so replay needs no lookup table: base64url("{instanceId}\n{webhookId}"). */
export function deadLetterId(instanceId: string, webhookId: string): string {
  return 'dl_' + Buffer.from(`${instanceId}\n${webhookId}`, 'utf8').toString('base64url');
}

export function parseDeadLetterId(id: string): { instanceId: string; webhookId: string } {
  const text = id.startsWith('dl_') ? Buffer.from(id.slice(3), 'base64url').toString('utf8') : '';
  const cut = text.indexOf('\n');
  const instanceId = text.slice(0, cut);
  if (cut <= 0 || !INSTANCE_ID.test(instanceId)) throw new ProblemError('DEADLETTER_NOT_FOUND', 'No dead letter has this id.');
  return { instanceId, webhookId: text.slice(cut + 1) };
}

function fromEntity(e: DeadLetterEntity): DeadLetter {
  return {
    id: deadLetterId(e.partitionKey, e.webhookId),
    instanceId: e.partitionKey,
    eventId: e.webhookId,
    kinds: JSON.parse(e.kinds) as string[],
    targets: JSON.parse(e.targets) as string[],
    attempts: e.attempts,
    lastError: e.lastError ?? null,
    receivedAt: isoSeconds(new Date(e.receivedAt).getTime()),
    deadLetteredAt: isoSeconds(new Date(e.deadLetteredAt).getTime()),
  };
}

export class DeadLetterStore {
  constructor(private readonly table: TableClient) {}

  async put(record: EventRecord, now: number): Promise<void> {
    const pendingSends = record.pending.map((i) => record.sends[i]).filter((s) => s !== undefined);
    const entity: DeadLetterEntity = {
      partitionKey: record.instanceId,
      rowKey: toKey(record.webhookId),
      webhookId: record.webhookId,
      kinds: JSON.stringify([...new Set(pendingSends.map((s) => s.message.kind))]),
      targets: JSON.stringify(pendingSends.map((s) => `${s.target.type}:${s.target.id}`)),
      attempts: record.attempts,
      ...(record.lastError ? { lastError: record.lastError } : {}),
      receivedAt: new Date(record.receivedAt),
      deadLetteredAt: new Date(now),
    };
    await tableCall('write dead letter', () => this.table.upsertEntity(entity, 'Replace'));
  }

  async list(instanceId: string | undefined, limit = 1000): Promise<DeadLetter[]> {
    const filter = instanceId === undefined ? undefined : odata`PartitionKey eq ${instanceId}`;
    const items: DeadLetter[] = [];
    await tableCall('list dead letters', async () => {
      for await (const e of this.table.listEntities<DeadLetterEntity>(filter ? { queryOptions: { filter } } : {})) {
        items.push(fromEntity(e));
        if (items.length >= limit) break;
      }
    });
    return items.sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt));
  }

  async exists(instanceId: string, webhookId: string): Promise<boolean> {
    try {
      await tableCall('read dead letter', () => this.table.getEntity(instanceId, toKey(webhookId)));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Dead letters kept this long after they died (their event row lives a day longer, for replays). */
  async deleteOlderThan(cutoff: number): Promise<number> {
    const keys: { partitionKey: string; rowKey: string }[] = [];
    await tableCall('list old dead letters', async () => {
      for await (const e of this.table.listEntities<DeadLetterEntity>({ queryOptions: { filter: odata`deadLetteredAt lt ${new Date(cutoff)}` } })) {
        keys.push({ partitionKey: e.partitionKey, rowKey: e.rowKey });
      }
    });
    for (const key of keys) await this.remove(key.partitionKey, fromKey(key.rowKey));
    return keys.length;
  }

  async remove(instanceId: string, webhookId: string): Promise<void> {
    try {
      await tableCall('delete dead letter', () => this.table.deleteEntity(instanceId, toKey(webhookId)));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
