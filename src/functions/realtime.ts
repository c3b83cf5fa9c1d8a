import { app } from '@azure/functions';
import { isoSeconds } from '../lib/core/clock.js';
import { ProblemError } from '../lib/core/errors.js';
import { handleProblems, json, readJson } from '../lib/http/edge.js';
import { withSession } from '../lib/http/session.js';

app.http('negotiate', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'realtime/negotiate',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request, { needsServiceNow: true });
    const result = await runtime.negotiator.negotiate(session);
    return json(200, { ...result, expiresAt: isoSeconds(result.expiresAt) }, { 'cache-control': 'no-store' });
  }),
});

app.http('getPreferences', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'preferences',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request);
    return json(200, await runtime.preferences.get(session.instanceId, session.userSysId));
  }),
});

app.http('putPreferences', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  route: 'preferences',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request);
    const { preferencesSchema } = await import('../lib/preferences/preferences.js');
    const { parseOr422 } = await import('../lib/core/validation.js');
    const body = await readJson(request);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ProblemError('INVALID_REQUEST', 'The preferences must be a JSON object.', { errors: [{ path: '(root)', message: 'expected an object' }] });
    }
    // Fields left out keep their current value.
    const current = await runtime.preferences.get(session.instanceId, session.userSysId);
    const next = parseOr422(preferencesSchema, { ...current, ...body }, 'INVALID_REQUEST', 'The preferences are invalid.');
    await runtime.preferences.put(session.instanceId, session.userSysId, next);
    return json(200, next);
  }),
});

app.http('listNotifications', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'notifications',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request);
    const { readInbox } = await import('../lib/inbox/inbox.js');
    const limitText = request.query.get('limit') ?? '50';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) {
      throw new ProblemError('INVALID_REQUEST', 'limit must be an integer from 1 to 100.', { errors: [{ path: 'limit', message: 'an integer from 1 to 100' }] });
    }
    const page = await readInbox(runtime.tables.events, session.instanceId, session.userSysId, {
      after: request.query.get('after'),
      limit,
      now: runtime.clock.now(),
    });
    return json(200, page, { 'cache-control': 'no-store' });
  }),
});
