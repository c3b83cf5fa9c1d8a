import { odata, type TableClient } from '@azure/data-tables';
import { ProblemError } from '../core/errors.js';
import { tableCall } from '../storage/tableCall.js';
import { toKey } from '../storage/keys.js';

/**
 * A user's inbox (CONTRACT.md §5): the user-directed messages of the last 7 days, oldest first, read
 * from the inbox rows the delivery writes (RK `i:{user}:{time}:{message id}`). The cursor is the row
 * key's tail, opaque to clients.
 */
export async function readInbox(
  events: TableClient,
  instanceId: string,
  userSysId: string,
  options: { after?: string | null; limit: number; now: number },
): Promise<{ items: unknown[]; next: string | null }> {
  const prefix = `i:${toKey(userSysId)}:`;
  let from = prefix;
  if (options.after) {
    const tail = Buffer.from(options.after, 'base64url').toString('utf8');
    if (!/^\d{15}:/.test(tail)) throw new ProblemError('INVALID_REQUEST', 'The cursor is not valid.', { errors: [{ path: 'after', message: 'not a cursor of this API' }] });
    from = `${prefix}${tail}`;
  }
  const upper = prefix.slice(0, -1) + ';';
  const filter = odata`PartitionKey eq ${instanceId} and RowKey gt ${from} and RowKey lt ${upper} and expiresAt gt ${new Date(options.now)}`;
  const rows: { rowKey: string; message: string }[] = [];
  await tableCall('read inbox', async () => {
    const pages = events.listEntities<{ message: string }>({ queryOptions: { filter, select: ['RowKey', 'message'] } }).byPage({ maxPageSize: options.limit + 1 });
    for await (const page of pages) {
      for (const row of page) rows.push({ rowKey: row.rowKey ?? '', message: row.message });
      if (rows.length > options.limit) break;
    }
  });
  const items = rows.slice(0, options.limit);
  const last = items[items.length - 1];
  const next = rows.length > options.limit && last ? Buffer.from(last.rowKey.slice(prefix.length), 'utf8').toString('base64url') : null;
  return { items: items.map((r) => JSON.parse(r.message) as unknown), next };
}
