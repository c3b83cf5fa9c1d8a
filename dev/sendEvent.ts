/**
 * `npm run send -- <fixture.json | path> [instanceId]`: signs an event the Standard Webhooks way with the
 * demo instance's secret and POSTs it to the running local stack, as a ServiceNow business rule would.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sign, webhookKey } from '../src/lib/webhooks/verifySignature.js';
import { DEMO_INSTANCE, readDemoSecret } from './demoInstance.js';
import { PROJECT_DIR } from './stack.js';

const [file = 'incident-p1-inserted-assigned.json', instanceId = DEMO_INSTANCE] = process.argv.slice(2);
const stateDir = path.resolve(PROJECT_DIR, process.env.FLOWQUEST_STATE_DIR || '.flowquest');
const candidates = [path.resolve(file), path.resolve(PROJECT_DIR, '../shared/fixtures/servicenow', file)];
const found = candidates.find((p) => existsSync(p));
if (!found) {
  console.error(`No such event file: ${file}`);
  process.exit(2);
}
const body = readFileSync(found);
const stackInfo = JSON.parse(readFileSync(path.join(stateDir, 'stack.json'), 'utf8')) as { url: string };
const id = randomUUID().replaceAll('-', '');
const timestamp = Math.floor(Date.now() / 1000);
const signature = sign(webhookKey(readDemoSecret(stateDir)), id, timestamp, body).toString('base64');
const started = performance.now();
const res = await fetch(`${stackInfo.url}/api/webhooks/servicenow/${instanceId}`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
  body,
});
console.log(`${res.status} in ${(performance.now() - started).toFixed(1)} ms: ${await res.text()}`);
