import { odata, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import { statusOf, tableCall } from '../storage/tableCall.js';
import { timeKey, toKey } from '../storage/keys.js';
import { DEAD_LETTER_AFTER_MS } from './retrySchedule.js';
import type { EventRecord, Send } from './types.js';

/** Dedupe rows are kept at least 7 days (CONTRACT.md §1); inbox rows 7 days (§3). */
export const DEDUPE_RETENTION_MS = 8 * 24 * 3_600_000;
export const INBOX_RETENTION_MS = 7 * 24 * 3_600_000;

const EVENT = 'e:';
const INBOX = 'i:';

interface EventEntity {
  partitionKey: string;
  rowKey: string;
  webhookId: string;
  status: EventRecord['status'];
  receivedAt: Date;
  windowStart: Date;
  expiresAt: Date;
  sends: string;
  pending: string;
  attempts: number;
  nextAttemptAt: Date;
  inboxWritten: boolean;
  lastError?: string;
}

export type InboxEntity = {
  partitionKey: string;
  rowKey: string;
  message: string;
  expiresAt: Date;
};

export const eventRowKey = (webhookId: string): string => EVENT + toKey(webhookId);

/** The receipt, or the last replay of a dead letter. */
const lastStart = (record: EventRecord): number => Math.max(record.receivedAt, record.windowStart);

function toEntity(record: EventRecord): EventEntity {
  return {
    partitionKey: record.instanceId,
    rowKey: eventRowKey(record.webhookId),
    webhookId: record.webhookId,
    status: record.status,
    receivedAt: new Date(record.receivedAt),
    windowStart: new Date(record.windowStart),
    // Counted from the end of the delivery window, so a dead letter can still be replayed for days.
    expiresAt: new Date(lastStart(record) + DEAD_LETTER_AFTER_MS + DEDUPE_RETENTION_MS),
    sends: JSON.stringify(record.sends),
    pending: JSON.stringify(record.pending),
    attempts: record.attempts,
    nextAttemptAt: new Date(record.nextAttemptAt),
    inboxWritten: record.inboxWritten,
    ...(record.lastError ? { lastError: record.lastError } : {}),
  };
}

function fromEntity(entity: TableEntityResult<EventEntity>): EventRecord {
  return {
    instanceId: entity.partitionKey ?? '',
    webhookId: entity.webhookId,
    status: entity.status,
    receivedAt: new Date(entity.receivedAt).getTime(),
    windowStart: new Date(entity.windowStart).getTime(),
    sends: JSON.parse(entity.sends) as Send[],
    pending: JSON.parse(entity.pending) as number[],
    attempts: entity.attempts,
    nextAttemptAt: new Date(entity.nextAttemptAt).getTime(),
    inboxWritten: entity.inboxWritten === true,
    ...(entity.lastError ? { lastError: entity.lastError } : {}),
    ...(entity.etag ? { etag: entity.etag } : {}),
  };
}

/**
 * The inbox row of a user-directed send: ordered by user, then the time it was written, then message,
 * so a user's inbox is one range. Keyed by write time, not receipt time: a row written late (after a
 * retry) sorts after what a client has already paged past, instead of being skipped.
 */
export function inboxRow(record: EventRecord, send: Send, writtenAt: number): InboxEntity {
  const user = send.target.id.slice(record.instanceId.length + 1);
  return {
    partitionKey: record.instanceId,
    rowKey: `${INBOX}${toKey(user)}:${timeKey(writtenAt)}:${toKey(send.message.id)}`,
    message: JSON.stringify(send.message),
    expiresAt: new Date(lastStart(record) + INBOX_RETENTION_MS),
  };
}

export class EventStore {
  constructor(private readonly table: TableClient) {}

  /**
   * The dedupe claim: a conditional insert, so that of any number of concurrent deliveries of one
   * webhook-id exactly one wins. Returns false when the id was already taken.
   */
  async claim(record: EventRecord): Promise<boolean> {
    try {
      await tableCall('claim event', () => this.table.createEntity(toEntity(record)));
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  async get(instanceId: string, webhookId: string): Promise<EventRecord | undefined> {
    try {
      const entity = await tableCall('read event', () =>
        this.table.getEntity<EventEntity>(instanceId, eventRowKey(webhookId)),
      );
      return fromEntity(entity);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Pending events of one instance whose next attempt is due. */
  async listDue(instanceId: string, now: number, limit: number): Promise<EventRecord[]> {
    const filter = odata`PartitionKey eq ${instanceId} and RowKey ge ${EVENT} and RowKey lt ${'e;'} and status eq 'pending' and nextAttemptAt le ${new Date(now)}`;
    const found: EventRecord[] = [];
    await tableCall('list due events', async () => {
      for await (const entity of this.table.listEntities<EventEntity>({ queryOptions: { filter } })) {
        found.push(fromEntity(entity));
        if (found.length >= limit) break;
      }
    });
    return found;
  }

  /** Replaces a record; with an ETag only if nobody changed it since it was read (one retrier wins). */
  async replace(record: EventRecord, ifMatch?: string): Promise<EventRecord> {
    const result = await tableCall('update event', () =>
      this.table.updateEntity(toEntity(record), 'Replace', ifMatch ? { etag: ifMatch } : undefined),
    );
    return { ...record, ...(result.etag ? { etag: result.etag } : {}) };
  }

  /**
   * Writes the outcome of first deliveries of many events of one instance in as few transactions as
   * possible (a transaction holds up to 100 operations of one partition). An event's status and its
   * inbox rows always share a transaction, so an event is never `delivered` without its inbox rows.
   */
  async settle(instanceId: string, outcomes: { record: EventRecord; inbox: InboxEntity[] }[]): Promise<void> {
    let chunk: TransactionAction[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      const actions = chunk;
      chunk = [];
      await tableCall('settle events', () => this.table.submitTransaction(actions));
    };
    for (const { record: r, inbox } of outcomes) {
      const actions: TransactionAction[] = [
        [
          'update',
          {
            partitionKey: instanceId,
            rowKey: eventRowKey(r.webhookId),
            status: r.status,
            pending: JSON.stringify(r.pending),
            attempts: r.attempts,
            nextAttemptAt: new Date(r.nextAttemptAt),
            inboxWritten: r.inboxWritten,
            ...(r.lastError ? { lastError: r.lastError } : {}),
          },
          'Merge',
        ],
        ...inbox.map((row): TransactionAction => ['upsert', row, 'Replace']),
      ];
      if (chunk.length + actions.length > 100) await flush();
      chunk.push(...actions);
    }
    await flush();
  }

  async writeInbox(rows: InboxEntity[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100).map((row): TransactionAction => ['upsert', row, 'Replace']);
      await tableCall('write inbox', () => this.table.submitTransaction(chunk));
    }
  }

  /** Deletes dedupe, outbox and inbox rows of one instance past their retention; returns how many. */
  async deleteExpired(instanceId: string, now: number): Promise<number> {
    const filter = odata`PartitionKey eq ${instanceId} and expiresAt lt ${new Date(now)}`;
    const keys: string[] = [];
    await tableCall('list expired rows', async () => {
      for await (const e of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
        if (e.rowKey) keys.push(e.rowKey);
      }
    });
    for (let i = 0; i < keys.length; i += 100) {
      const chunk = keys.slice(i, i + 100).map((rowKey): TransactionAction => ['delete', { partitionKey: instanceId, rowKey }]);
      await tableCall('delete expired rows', () => this.table.submitTransaction(chunk));
    }
    return keys.length;
  }
}
