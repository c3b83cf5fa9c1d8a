import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Stack } from './stack.js';

export const DEMO_INSTANCE = 'demo';

/**
 * Sets up a demo ServiceNow instance on the first start, so that a signed event can be sent at once.
 * Its webhook secret is shown once by the API, so it is kept in the (git-ignored) state folder.
 */
export async function ensureDemoInstance(stack: Stack, stateDir: string): Promise<{ instanceId: string; secretFile: string }> {
  const secretFile = path.join(stateDir, 'demo-webhook-secret');
  const headers = { 'x-functions-key': stack.functionKey, 'content-type': 'application/json' };
  const url = `${stack.url}/api/admin/instances/${DEMO_INSTANCE}`;
  const existing = await fetch(url, { headers });
  if (existing.status === 200 && existsSync(secretFile)) return { instanceId: DEMO_INSTANCE, secretFile };
  if (existing.status === 200) {
    // The instance survived but the secret file did not: rotate to learn a secret again.
    const rotated = await fetch(`${url}/webhook-secret/rotate`, { method: 'POST', headers });
    writeFileSync(secretFile, `${((await rotated.json()) as { webhookSecret: string }).webhookSecret}\n`, { mode: 0o600 });
    return { instanceId: DEMO_INSTANCE, secretFile };
  }
  const created = await fetch(url, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ name: 'Demo instance (local)', baseUrl: 'https://demo.service-now.com', clientId: 'flowquest-mobile' }),
  });
  if (created.status !== 201) throw new Error(`Could not create the demo instance: ${created.status} ${await created.text()}`);
  writeFileSync(secretFile, `${((await created.json()) as { webhookSecret: string }).webhookSecret}\n`, { mode: 0o600 });
  return { instanceId: DEMO_INSTANCE, secretFile };
}

export function readDemoSecret(stateDir: string): string {
  return readFileSync(path.join(stateDir, 'demo-webhook-secret'), 'utf8').trim();
}
