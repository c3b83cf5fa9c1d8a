import { describeError, ProblemError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { inboxRow, type EventStore, type InboxEntity } from './eventStore.js';
import type { DeadLetterStore } from './deadLetterStore.js';
import { nextStep } from './retrySchedule.js';
import { SettleBatcher } from './settleBatcher.js';
import type { EventRecord, Publisher } from './types.js';

export interface DeliveryDeps {
  events: EventStore;
  deadLetters: DeadLetterStore;
  publisher: Publisher;
  clock: Clock;
  /** How long one send may take before it counts as failed (it is then retried by the outbox). */
  sendTimeoutMs: number;
  log: (message: string) => void;
}

export interface RetryReport {
  attempted: number;
  delivered: number;
  deadLettered: number;
}

/** How long a retrier holds an event before another may take it (if the first crashed mid-way). */
const RETRY_LEASE_MS = 120_000;
const RETRY_BATCH = 200;

export function inboxRowsOf(record: EventRecord, writtenAt: number): InboxEntity[] {
  return record.sends.filter((s) => s.target.type === 'user').map((s) => inboxRow(record, s, writtenAt));
}

/** Sends an event's messages, records outcomes, and retries and dead-letters on the contract's schedule. */
export class Delivery {
  private readonly settler: SettleBatcher;

  constructor(private readonly deps: DeliveryDeps) {
    this.settler = new SettleBatcher(deps.events, deps.log);
  }

  /** Sends the listed messages concurrently; returns the indexes that failed and why. */
  private async attempt(record: EventRecord, indexes: number[]): Promise<{ failed: number[]; error?: string }> {
    const failed: number[] = [];
    let error: string | undefined;
    await Promise.all(
      indexes.map(async (i) => {
        const send = record.sends[i];
        if (!send) return;
        try {
          await this.deps.publisher.send(send, AbortSignal.timeout(this.deps.sendTimeoutMs));
        } catch (e) {
          failed.push(i);
          error = describeError(e);
        }
      }),
    );
    return { failed: failed.sort((a, b) => a - b), ...(error ? { error } : {}) };
  }

  /** The record after an attempt: delivered, waiting for its next retry, or dead. */
  private outcome(record: EventRecord, failed: number[], error: string | undefined): EventRecord {
    const attempts = record.attempts + 1;
    if (failed.length === 0) return { ...record, status: 'delivered', pending: [], attempts };
    const step = nextStep(attempts, record.windowStart, this.deps.clock.now());
    const base = { ...record, pending: failed, attempts, ...(error ? { lastError: error } : {}) };
    return 'deadLetter' in step ? { ...base, status: 'dead' } : { ...base, status: 'pending', nextAttemptAt: step.retryAt };
  }

  /**
   * The first delivery of a just-claimed event. The caller awaits the sends; their outcome and the
   * inbox rows are group-committed in the background.
   */
  async deliverNew(record: EventRecord): Promise<void> {
    const { failed, error } = await this.attempt(record, record.pending);
    // The status and the inbox rows are written in one transaction, so inboxWritten is true with them.
    this.settler.add({ ...this.outcome(record, failed, error), inboxWritten: true }, inboxRowsOf(record, this.deps.clock.now()));
  }

  /** One pass of the outbox timer over the given instances. */
  async retryDue(instanceIds: readonly string[]): Promise<RetryReport> {
    const report: RetryReport = { attempted: 0, delivered: 0, deadLettered: 0 };
    for (const instanceId of instanceIds) {
      const due = await this.deps.events.listDue(instanceId, this.deps.clock.now(), RETRY_BATCH);
      for (const record of due) {
        const result = await this.retryOne(record);
        if (result === 'skipped') continue;
        report.attempted++;
        if (result === 'delivered') report.delivered++;
        if (result === 'dead') report.deadLettered++;
      }
    }
    return report;
  }

  private async retryOne(record: EventRecord): Promise<'skipped' | EventRecord['status']> {
    const now = this.deps.clock.now();
    let leased: EventRecord;
    try {
      // Take the event with its ETag, so that two timers on two instances never both send it.
      leased = await this.deps.events.replace({ ...record, nextAttemptAt: now + RETRY_LEASE_MS }, record.etag);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 412) return 'skipped';
      throw error;
    }
    // Only if the first delivery's settle was lost: written once, however many retries follow.
    if (!record.inboxWritten) await this.deps.events.writeInbox(inboxRowsOf(record, now));
    const { failed, error } = await this.attempt(leased, leased.pending);
    const next = { ...this.outcome(leased, failed, error), inboxWritten: true };
    if (next.status === 'dead') {
      await this.deps.deadLetters.put(next, now);
      this.deps.log(`event ${record.webhookId} of ${record.instanceId} dead-lettered after ${next.attempts} attempts`);
    }
    await this.deps.events.replace(next, leased.etag);
    return next.status;
  }

  /** Puts a dead-lettered event back in the outbox with a fresh 24-hour window and tries it at once. */
  async replay(record: EventRecord): Promise<EventRecord> {
    const now = this.deps.clock.now();
    const revived: EventRecord = { ...record, status: 'pending', attempts: 0, windowStart: now, nextAttemptAt: now + RETRY_LEASE_MS };
    let leased: EventRecord;
    try {
      leased = await this.deps.events.replace(revived, record.etag);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 412) {
        throw new ProblemError('CONFLICT', 'This dead letter is being replayed by another request.');
      }
      throw error;
    }
    await this.deps.deadLetters.remove(record.instanceId, record.webhookId);
    const { failed, error } = await this.attempt(leased, leased.pending);
    const next = this.outcome(leased, failed, error);
    return this.deps.events.replace(next, leased.etag);
  }

  /** Waits for background writes (tests, shutdown). */
  flush(): Promise<void> {
    return this.settler.flush();
  }
}
