import { app } from '@azure/functions';
import { ProblemError } from '../lib/core/errors.js';
import { handleProblems, json } from '../lib/http/edge.js';
import { loadRuntime } from '../lib/http/runtimeLoader.js';
import { ADMIN_SEGMENT } from '../lib/http/routes.js';

app.http('listDeadLetters', {
  methods: ['GET'],
  authLevel: 'function',
  route: `${ADMIN_SEGMENT}/deadletters`,
  handler: handleProblems(async (request) => {
    const { deadLetters } = await loadRuntime();
    const instanceId = request.query.get('instanceId') || undefined;
    return json(200, { items: await deadLetters.list(instanceId) });
  }),
});

app.http('replayDeadLetter', {
  methods: ['POST'],
  authLevel: 'function',
  route: `${ADMIN_SEGMENT}/deadletters/{id}/replay`,
  handler: handleProblems(async (request) => {
    const { events, deadLetters, delivery } = await loadRuntime();
    const { parseDeadLetterId } = await import('../lib/delivery/deadLetterStore.js');
    const { instanceId, webhookId } = parseDeadLetterId(request.params.id ?? '');
    const record = await events.get(instanceId, webhookId);
    if (!record || record.status !== 'dead' || !(await deadLetters.exists(instanceId, webhookId))) {
      throw new ProblemError('DEADLETTER_NOT_FOUND', 'No dead letter has this id.');
    }
    const replayed = await delivery.replay(record);
    return json(200, {
      id: request.params.id,
      eventId: webhookId,
      status: replayed.status === 'delivered' ? 'delivered' : 'retrying',
      notifications: record.pending.length,
    });
  }),
});
