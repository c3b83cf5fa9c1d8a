/**
 * The token route's own cost: the bridge's latency on a cache hit (no upstream call) and on a refresh,
 * next to the development instance's own refresh latency measured in the same run.
 */
import { startDevServiceNow } from '../dev/servicenow/instance.js';
import type { Stack } from '../dev/stack.js';
import { summarise } from './stats.js';

const CALLS = Number(process.env.BENCH_TOKEN_CALLS ?? 300);

async function timed(run: () => Promise<Response>): Promise<number> {
  const started = performance.now();
  const res = await run();
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`token bench: ${res.status}`);
  return performance.now() - started;
}

async function sessionFor(stack: Stack, instanceId: string, accessToken: string, refreshToken: string, expiresIn: number): Promise<string> {
  const res = await fetch(`${stack.url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instanceId, deviceId: 'bench', accessToken, refreshToken, expiresIn }),
  });
  if (res.status !== 201) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sessionToken: string }).sessionToken;
}

async function createInstance(stack: Stack, key: string, id: string, baseUrl: string): Promise<void> {
  const res = await fetch(`${stack.url}/api/admin/instances/${id}`, {
    method: 'PUT',
    headers: { 'x-functions-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ name: id, baseUrl, clientId: 'flowquest-mobile' }),
  });
  if (res.status !== 201) throw new Error(`instance: ${res.status}`);
}

export async function benchTokenRoute(stack: Stack, functionKey: string) {
  // Two development instances: one with ServiceNow's default 30-minute tokens (every call is a cache
  // hit), one whose tokens live 60 s, under the bridge's 5-minute floor, so that every call refreshes.
  const normal = await startDevServiceNow({ port: 0 });
  const shortLived = await startDevServiceNow({ port: 0, accessTokenLifetimeSeconds: 60 });
  try {
    await createInstance(stack, functionKey, 'bench-sn', normal.url);
    await createInstance(stack, functionKey, 'bench-sn-short', shortLived.url);
    const beth = normal.users[0]!.sysId;
    const a = normal.issueTokens('flowquest-mobile', beth);
    const b = shortLived.issueTokens('flowquest-mobile', beth);
    const hitSession = await sessionFor(stack, 'bench-sn', a.accessToken, a.refreshToken, a.expiresIn);
    const refreshSession = await sessionFor(stack, 'bench-sn-short', b.accessToken, b.refreshToken, b.expiresIn);
    const callToken = (session: string) => () =>
      fetch(`${stack.url}/api/sessions/current/token`, { method: 'POST', headers: { authorization: `Bearer ${session}` } });
    const upstreamRefresh = () =>
      fetch(`${shortLived.url}/oauth_token.do`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: b.refreshToken, client_id: 'flowquest-mobile' }).toString(),
      });

    for (let i = 0; i < 30; i++) {
      await timed(callToken(hitSession));
      await timed(callToken(refreshSession));
      await timed(upstreamRefresh);
    }
    const hit: number[] = [];
    const refresh: number[] = [];
    const upstream: number[] = [];
    const refreshesBefore = shortLived.stats().refreshGrants;
    for (let i = 0; i < CALLS; i++) {
      hit.push(await timed(callToken(hitSession)));
      refresh.push(await timed(callToken(refreshSession)));
      upstream.push(await timed(upstreamRefresh));
    }
    const bridgeRefreshes = shortLived.stats().refreshGrants - refreshesBefore - CALLS;
    const up = summarise(upstream);
    const total = summarise(refresh);
    return {
      calls: CALLS,
      hit: summarise(hit),
      refresh: total,
      upstream: up,
      added: { p50: total.p50 - up.p50, p99: total.p99 - up.p99 },
      bridgeRefreshes,
    };
  } finally {
    await Promise.all([normal.close(), shortLived.close()]);
  }
}
