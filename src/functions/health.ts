import { app } from '@azure/functions';
import { handleProblems, json } from '../lib/http/edge.js';
import { loadRuntime } from '../lib/http/runtimeLoader.js';

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: handleProblems(async () => {
    const runtime = await loadRuntime({ ready: false });
    const report = await runtime.health();
    // Down (Tables unreachable) is a 503 for an unavailable dependency: it says when to look again.
    const retry: Record<string, string> = report.httpStatus === 503 ? { 'retry-after': '5' } : {};
    return json(report.httpStatus, report.body, { 'cache-control': 'no-store', ...retry });
  }),
});
