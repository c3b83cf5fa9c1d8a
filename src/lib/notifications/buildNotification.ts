import type { EventEnvelope } from '../webhooks/envelope.js';
import { truncateTitle, TITLE_MAX_CODE_POINTS } from './truncateTitle.js';

/** The message sent over Web PubSub (CONTRACT.md §3). */
export interface Notification {
  v: 1;
  id: string;
  eventId: string;
  kind: string;
  instanceId: string;
  table: string;
  sysId: string;
  number?: string;
  title: string;
  priority?: number;
  state?: string;
  updatedAt: string;
}

export const MAX_NOTIFICATION_BYTES = 1024;

function fallbackTitle(event: EventEnvelope): string {
  const ref = event.display?.sysapproval ?? event.number ?? event.display?.document_id ?? event.sys_id;
  if (event.table === 'sysapproval_approver') return `Approval requested for ${ref}`;
  const verb = event.event === 'record.inserted' ? 'created' : event.event === 'record.deleted' ? 'deleted' : 'updated';
  return `${event.table} ${event.number ?? event.sys_id} ${verb}`;
}

export function byteLength(message: Notification): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

/**
 * Builds the compact message for one matched kind. Its UTF-8 JSON is kept within 1024 bytes by
 * shortening the title first; every other field is bounded by the envelope schema.
 */
export function buildNotification(event: EventEnvelope, kind: string, instanceId: string, eventId: string): Notification {
  const source = event.record.short_description?.trim() ? event.record.short_description : fallbackTitle(event);
  const priorityText = event.record.priority ?? '';
  const state = event.record.state;
  const message: Notification = {
    v: 1,
    id: `${eventId}:${kind}`,
    eventId,
    kind,
    instanceId,
    table: event.table,
    sysId: event.sys_id,
    ...(event.number ? { number: event.number } : {}),
    title: truncateTitle(source, TITLE_MAX_CODE_POINTS),
    ...(/^\d{1,2}$/.test(priorityText) ? { priority: Number(priorityText) } : {}),
    ...(state !== undefined && state !== '' ? { state: truncateTitle(state, 40) } : {}),
    updatedAt: `${event.sys_updated_on.replace(' ', 'T')}Z`,
  };
  // A title of escape-heavy characters can still exceed the byte budget; shorten it until it fits.
  let limit = TITLE_MAX_CODE_POINTS;
  while (byteLength(message) > MAX_NOTIFICATION_BYTES && limit > 0) {
    limit = Math.max(0, limit - 8);
    message.title = truncateTitle(source, limit);
  }
  // Only a pathological id or state (escape-heavy, at their maximum lengths) gets here.
  if (byteLength(message) > MAX_NOTIFICATION_BYTES) delete message.state;
  if (byteLength(message) > MAX_NOTIFICATION_BYTES) delete message.number;
  return message;
}
