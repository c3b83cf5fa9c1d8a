import { app } from '@azure/functions';
import { handleProblems, json, readBytes } from '../lib/http/edge.js';
import { loadRuntime } from '../lib/http/runtimeLoader.js';

// Anonymous at the Functions level: ServiceNow authenticates with the Standard Webhooks signature.
app.http('receiveServiceNowWebhook', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'webhooks/servicenow/{instanceId}',
  handler: handleProblems(async (request) => {
    const { webhooks } = await loadRuntime();
    const result = await webhooks.receive({
      instanceId: request.params.instanceId ?? '',
      headers: request.headers,
      body: await readBytes(request),
    });
    return json(result.httpStatus, result.body);
  }),
});
