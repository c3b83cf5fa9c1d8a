import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Stack } from './stack.js';

export const DEMO_INSTANCE = 'demo';

/**
 * Sets up a demo ServiceNow instance on the first start, so that a signed event can be sent at once.
 * Its webhook secret is shown once by the API, so it is kept in the (git-ignored) state folder.
 */
export async function ensureDemoInstance(
  stack: Stack,
  stateDir: string,
  baseUrl: string,
): Promise<{ instanceId: string; secretFile: string; secret: string }> {
  const secretFile = path.join(stateDir, 'demo-webhook-secret');
  const headers = { 'x-functions-key': stack.functionKey, 'content-type': 'application/json' };
  const url = `${stack.url}/api/admin/instances/${DEMO_INSTANCE}`;
  const definition = JSON.stringify({ name: 'Demo instance (local development ServiceNow)', baseUrl, clientId: 'flowquest-mobile' });
  // PUT creates it on the first start and keeps its base URL current on later ones (the port may change).
  const put = await fetch(url, { method: 'PUT', headers, body: definition });
  if (put.status !== 201 && put.status !== 200) throw new Error(`Could not set up the demo instance: ${put.status} ${await put.text()}`);
  let secret = put.status === 201 ? ((await put.json()) as { webhookSecret: string }).webhookSecret : undefined;
  if (!secret && !existsSync(secretFile)) {
    // The instance survived but the secret file did not: rotate to learn a secret again.
    const rotated = await fetch(`${url}/webhook-secret/rotate`, { method: 'POST', headers });
    secret = ((await rotated.json()) as { webhookSecret: string }).webhookSecret;
  }
  if (secret) writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  return { instanceId: DEMO_INSTANCE, secretFile, secret: readDemoSecret(stateDir) };
}

export function readDemoSecret(stateDir: string): string {
  return readFileSync(path.join(stateDir, 'demo-webhook-secret'), 'utf8').trim();
}
