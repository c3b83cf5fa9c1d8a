import { app } from '@azure/functions';
import { isoSeconds } from '../lib/core/clock.js';
import { handleProblems, json, noContent, readJson } from '../lib/http/edge.js';
import { loadRuntime } from '../lib/http/runtimeLoader.js';
import { withSession } from '../lib/http/session.js';

const NO_STORE = { 'cache-control': 'no-store' };

// Anonymous at the Functions level: the app authenticates with ServiceNow's tokens, then with the session token.
app.http('createSession', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'sessions',
  handler: handleProblems(async (request) => {
    const { sessions } = await loadRuntime();
    const result = await sessions.signIn(await readJson(request));
    return json(
      201,
      {
        sessionToken: result.sessionToken,
        sessionExpiresAt: isoSeconds(result.sessionExpiresAt),
        user: result.user,
        accessToken: result.accessToken,
        accessTokenExpiresAt: isoSeconds(result.accessTokenExpiresAt),
      },
      NO_STORE,
    );
  }),
});

app.http('getAccessToken', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'sessions/current/token',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request, { needsServiceNow: true });
    const token = await runtime.sessions.accessToken(session);
    return json(200, { accessToken: token.accessToken, expiresAt: isoSeconds(token.expiresAt) }, NO_STORE);
  }),
});

app.http('endCurrentSession', {
  methods: ['DELETE'],
  authLevel: 'anonymous',
  route: 'sessions/current',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request);
    await runtime.sessions.end(session, `${session.instanceId}:${session.userSysId}`);
    return noContent();
  }),
});

app.http('listSessions', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'sessions',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request);
    const items = (await runtime.sessions.list(session)).map((s) => ({
      ...s,
      createdAt: isoSeconds(s.createdAt),
      lastUsedAt: isoSeconds(s.lastUsedAt),
    }));
    return json(200, { items }, NO_STORE);
  }),
});

app.http('endSession', {
  methods: ['DELETE'],
  authLevel: 'anonymous',
  route: 'sessions/{sid}',
  handler: handleProblems(async (request) => {
    const { runtime, session } = await withSession(request);
    await runtime.sessions.endOther(session, request.params.sid ?? '');
    return noContent();
  }),
});
