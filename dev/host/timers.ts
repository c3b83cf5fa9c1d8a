/**
 * Timer trigger scheduling, modelled on the timer extension's TimerListener
 * (https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer):
 *
 * - the next occurrence is computed from the schedule after each run completes, so an invocation never
 *   overlaps itself: ticks that fall while a run is still going are skipped (timer functions are singletons);
 *   a manual run (runFunction / admin API) while one is in progress waits for it, then runs;
 * - `runOnStartup` invokes once when the host starts;
 * - the trigger value is the JSON the extension sends, in PascalCase, which the library camel-cases:
 *   `{ Schedule: { AdjustForDST }, ScheduleStatus: { Last, Next, LastUpdated }, IsPastDue }`.
 *   Without storage there is no schedule monitor, so ScheduleStatus is kept in memory (Last starts at
 *   DateTime.MinValue as in a fresh monitor) and IsPastDue is always false.
 */
import type { TimerSchedule } from './ncrontab.js';

/** DateTime.MinValue as the extension serialises an unset `Last`. */
const DATETIME_MIN = '0001-01-01T00:00:00';
// setTimeout's maximum delay; longer waits are re-armed.
const MAX_DELAY_MS = 2_147_483_647;

export interface TimerInput {
  Schedule: { AdjustForDST: boolean };
  ScheduleStatus: { Last: string; Next: string; LastUpdated: string };
  IsPastDue: boolean;
}

export interface TimerRunnerOptions {
  name: string;
  schedule: TimerSchedule;
  runOnStartup: boolean;
  /** Invoke the function with this trigger value (`manual`: runNow, not the schedule); rejects when it fails. */
  invoke: (input: TimerInput, manual: boolean) => Promise<void>;
  /** Report skipped ticks and failures (never throws). */
  onEvent?: (message: string) => void;
  now?: () => Date;
}

export class TimerRunner {
  readonly #opts: TimerRunnerOptions;
  readonly #now: () => Date;
  #handle: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #stopped = true;
  #last: string = DATETIME_MIN;
  #lastUpdated: string = DATETIME_MIN;
  #next: Date | undefined;

  constructor(opts: TimerRunnerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#next = opts.schedule.next(this.#now());
  }

  get name(): string {
    return this.#opts.name;
  }

  get nextOccurrence(): Date | undefined {
    return this.#next;
  }

  get isRunning(): boolean {
    return this.#running !== undefined;
  }

  /** Arm the schedule (and fire runOnStartup). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    if (this.#opts.runOnStartup) {
      void this.runNow().catch(() => undefined).finally(() => this.#arm());
    } else {
      this.#arm();
    }
  }

  /** Stop scheduling; returns once any run in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#handle) clearTimeout(this.#handle);
    this.#handle = undefined;
    await this.#queue.catch(() => undefined);
  }

  /** Run now, after any run in progress (never concurrently with itself). Rejects if the function fails. */
  runNow(): Promise<void> {
    const run = this.#queue.catch(() => undefined).then(() => this.#execute(undefined));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #arm(): void {
    if (this.#stopped) return;
    const now = this.#now();
    this.#next = this.#opts.schedule.next(now);
    if (!this.#next) {
      this.#opts.onEvent?.(`Timer '${this.#opts.name}' has no future occurrence; it will not run on schedule.`);
      return;
    }
    const scheduled = this.#next;
    const delay = Math.max(0, scheduled.getTime() - now.getTime());
    this.#handle = setTimeout(
      () => {
        this.#handle = undefined;
        if (delay > MAX_DELAY_MS) {
          this.#arm(); // not due yet: re-arm for the remainder
          return;
        }
        this.#tick(scheduled);
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    // A pending timer must not keep a process alive on its own; the HTTP server does that.
    this.#handle.unref?.();
  }

  #tick(scheduled: Date): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#opts.onEvent?.(`Timer '${this.#opts.name}' skipped the ${scheduled.toISOString()} occurrence: the previous run is still in progress.`);
      this.#arm();
      return;
    }
    const run = this.#execute(scheduled);
    this.#queue = run.catch(() => undefined);
    // The next occurrence is computed once this run has finished (TimerListener behaviour).
    void run.catch(() => undefined).finally(() => this.#arm());
  }

  async #execute(scheduled: Date | undefined): Promise<void> {
    const nextAfterRun = this.#opts.schedule.next(scheduled ?? this.#now());
    const input: TimerInput = {
      Schedule: { AdjustForDST: this.#opts.schedule.adjustForDST },
      ScheduleStatus: {
        Last: this.#last,
        Next: (nextAfterRun ?? scheduled ?? this.#now()).toISOString(),
        LastUpdated: this.#lastUpdated,
      },
      IsPastDue: false,
    };
    const promise = this.#opts.invoke(input, scheduled === undefined);
    this.#running = promise.then(
      () => undefined,
      () => undefined,
    );
    try {
      await promise;
    } finally {
      this.#running = undefined;
      const now = this.#now();
      this.#last = (scheduled ?? now).toISOString();
      this.#lastUpdated = now.toISOString();
    }
  }
}
