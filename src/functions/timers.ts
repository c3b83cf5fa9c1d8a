import { app } from '@azure/functions';
import { describeError } from '../lib/core/errors.js';
import { loadRuntime } from '../lib/http/runtimeLoader.js';

// CONTRACT.md §6: the outbox retry every 30 s (NCRONTAB: second minute hour day month day-of-week).
app.timer('outboxRetry', {
  schedule: '*/30 * * * * *',
  handler: async (_timer, context) => {
    try {
      const { instances, delivery } = await loadRuntime();
      const ids = (await instances.list()).map((i) => i.id);
      const report = await delivery.retryDue(ids);
      if (report.attempted > 0) {
        context.log(`outbox: ${report.attempted} retried, ${report.delivered} delivered, ${report.deadLettered} dead-lettered`);
      }
    } catch (error) {
      context.warn(`outbox retry pass failed: ${describeError(error)}`);
    }
  },
});

// Daily clean-up of expired dedupe rows, outbox records, inbox items and sessions (03:00 UTC).
app.timer('dailyCleanup', {
  schedule: '0 0 3 * * *',
  handler: async (_timer, context) => {
    const { instances, events, deadLetters, sessions, clock } = await loadRuntime();
    const now = clock.now();
    let removed = 0;
    for (const instance of await instances.list()) removed += await events.deleteExpired(instance.id, now);
    const letters = await deadLetters.deleteOlderThan(now - 7 * 24 * 3_600_000);
    const ended = await sessions.purgeExpired(now);
    context.log(`clean-up: ${removed} expired row(s), ${letters} dead letter(s) older than 7 days and ${ended} ended or expired session(s) removed`);
  },
});
