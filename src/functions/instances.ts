import { app } from '@azure/functions';
import { isoSeconds } from '../lib/core/clock.js';
import { handleProblems, json, noContent, readJson } from '../lib/http/edge.js';
import { loadRuntime } from '../lib/http/runtimeLoader.js';
import { ADMIN_SEGMENT } from '../lib/http/routes.js';

const ROUTE = `${ADMIN_SEGMENT}/instances/{instanceId}`;

app.http('putInstance', {
  methods: ['PUT'],
  authLevel: 'function',
  route: ROUTE,
  handler: handleProblems(async (request) => {
    const { instances } = await loadRuntime();
    const { instanceView } = await import('../lib/instances/instance.js');
    const result = await instances.upsert(request.params.instanceId ?? '', await readJson(request));
    const body = { instance: instanceView(result.instance), ...(result.webhookSecret ? { webhookSecret: result.webhookSecret } : {}) };
    return json(result.created ? 201 : 200, body, { 'cache-control': 'no-store' });
  }),
});

app.http('getInstance', {
  methods: ['GET'],
  authLevel: 'function',
  route: ROUTE,
  handler: handleProblems(async (request) => {
    const { instances } = await loadRuntime();
    const { instanceView } = await import('../lib/instances/instance.js');
    return json(200, { instance: instanceView(await instances.get(request.params.instanceId ?? '')) });
  }),
});

app.http('deleteInstance', {
  methods: ['DELETE'],
  authLevel: 'function',
  route: ROUTE,
  handler: handleProblems(async (request) => {
    const { instances } = await loadRuntime();
    await instances.remove(request.params.instanceId ?? '');
    return noContent();
  }),
});

app.http('rotateWebhookSecret', {
  methods: ['POST'],
  authLevel: 'function',
  route: `${ROUTE}/webhook-secret/rotate`,
  handler: handleProblems(async (request) => {
    const { instances } = await loadRuntime();
    const rotated = await instances.rotateWebhookSecret(request.params.instanceId ?? '');
    return json(
      200,
      { webhookSecret: rotated.webhookSecret, previousValidUntil: isoSeconds(rotated.previousValidUntil) },
      { 'cache-control': 'no-store' },
    );
  }),
});

app.http('testInstanceConnection', {
  methods: ['POST'],
  authLevel: 'function',
  route: `${ROUTE}/test`,
  handler: handleProblems(async (request) => {
    const runtime = await loadRuntime();
    const { testConnection } = await import('../lib/instances/connectionTest.js');
    const instance = await runtime.instances.get(request.params.instanceId ?? '');
    const result = await testConnection(instance, await runtime.instances.clientSecret(instance), {
      fetch: runtime.fetch,
      clock: runtime.clock,
      timeoutMs: runtime.settings.CONNECTION_TEST_TIMEOUT_MS,
    });
    return json(200, result);
  }),
});

// Public: the app's instance switcher and the start of its PKCE sign-in.
app.http('listInstances', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'instances',
  handler: handleProblems(async () => {
    const { instances } = await loadRuntime();
    const { publicInstanceView } = await import('../lib/instances/instance.js');
    return json(200, (await instances.list()).map(publicInstanceView));
  }),
});
