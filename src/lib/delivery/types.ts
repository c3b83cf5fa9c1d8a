import type { Notification } from '../notifications/buildNotification.js';
import type { Target } from '../rules/matchEvent.js';

/** One message to one user or group. */
export interface Send {
  target: Target;
  message: Notification;
}

/** The outbox record of an accepted event, or only the dedupe claim of a filtered one. */
export interface EventRecord {
  instanceId: string;
  webhookId: string;
  status: 'filtered' | 'pending' | 'delivered' | 'dead';
  receivedAt: number;
  /** Start of the 24-hour delivery window: the receipt, or the last replay of a dead letter. */
  windowStart: number;
  sends: Send[];
  /** Indexes into `sends` that still have to go out. */
  pending: number[];
  attempts: number;
  nextAttemptAt: number;
  /** Whether the user-directed messages are in their users' inboxes yet. */
  inboxWritten: boolean;
  lastError?: string;
  etag?: string;
}

/** Sends messages to Web PubSub users and groups. */
export interface Publisher {
  send(send: Send, signal: AbortSignal): Promise<void>;
}
