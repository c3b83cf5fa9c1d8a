import { VERSION } from '../version.js';

export type CheckState = 'ok' | 'down';

export interface HealthProbes {
  tables(): Promise<unknown>;
  keyVault(): Promise<unknown>;
  webPubSub(): Promise<unknown>;
}

export interface HealthReport {
  httpStatus: 200 | 503;
  body: { status: 'ok' | 'degraded' | 'down'; checks: Record<keyof HealthProbes, CheckState>; version: string };
}

async function probe(run: () => Promise<unknown>, timeoutMs: number): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckState>((resolve) => {
    timer = setTimeout(() => resolve('down'), timeoutMs);
  });
  try {
    return await Promise.race([run().then((): CheckState => 'ok', (): CheckState => 'down'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** CONTRACT.md §6: without Tables nothing can be accepted (503 "down"); without the others the bridge is "degraded". */
export async function checkHealth(probes: HealthProbes, timeoutMs = 3_000): Promise<HealthReport> {
  const [tables, keyVault, webPubSub] = await Promise.all([
    probe(() => probes.tables(), timeoutMs),
    probe(() => probes.keyVault(), timeoutMs),
    probe(() => probes.webPubSub(), timeoutMs),
  ]);
  const checks = { tables, keyVault, webPubSub };
  const status = tables === 'down' ? 'down' : keyVault === 'down' || webPubSub === 'down' ? 'degraded' : 'ok';
  return { httpStatus: status === 'down' ? 503 : 200, body: { status, checks, version: VERSION } };
}
