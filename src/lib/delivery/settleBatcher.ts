import type { EventRecord } from './types.js';
import type { EventStore, InboxEntity } from './eventStore.js';

type Log = (message: string) => void;

/**
 * How long outcomes wait to be written together. Nothing waits on these writes (the sends are done and
 * answered), and fewer, larger transactions cost the table service less per event.
 */
export const SETTLE_LINGER_MS = 10;

/**
 * Group commit for what happens after a first delivery: the outcome of every event and its inbox rows.
 * Outcomes queued within SETTLE_LINGER_MS of each other are written together, per instance partition,
 * in as few table transactions as possible. Losing a batch (crash, Tables fault) loses no message:
 * the events stay `pending` and the outbox timer sends them again (clients dedupe by `id`).
 */
export class SettleBatcher {
  private queued = new Map<string, { record: EventRecord; inbox: InboxEntity[] }[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly events: EventStore,
    private readonly log: Log,
  ) {}

  add(record: EventRecord, inbox: InboxEntity[]): void {
    const entry = this.queued.get(record.instanceId) ?? [];
    entry.push({ record, inbox });
    this.queued.set(record.instanceId, entry);
    this.timer ??= setTimeout(() => this.flushQueued(), SETTLE_LINGER_MS);
  }

  private flushQueued(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = this.queued;
    this.queued = new Map();
    for (const [instanceId, outcomes] of batches) {
      const write = this.events
        .settle(instanceId, outcomes)
        .catch((error: unknown) =>
          this.log(`settling ${outcomes.length} event(s) of ${instanceId} failed; the outbox timer will retry them (${String((error as Error).name)})`),
        )
        .finally(() => this.inFlight.delete(write));
      this.inFlight.add(write);
    }
  }

  /** Resolves once everything queued so far is written (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.timer) this.flushQueued();
    await Promise.all([...this.inFlight]);
  }
}
