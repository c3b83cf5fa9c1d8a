/**
 * Standalone ServiceNow development instance: `node dist/dev/servicenow/main.js` after a build.
 *
 *   DEV_SERVICENOW_PORT            listening port (default 7072; 0 picks a free one)
 *   DEV_SERVICENOW_HOST            listening address (default 127.0.0.1)
 *   DEV_SERVICENOW_BRIDGE_URL      } optional, all three together: where POST /dev/emit sends
 *   DEV_SERVICENOW_INSTANCE_ID     } signed events (the bridge's base URL, e.g. http://127.0.0.1:7071),
 *   DEV_SERVICENOW_WEBHOOK_SECRET  } as which instance, with which whsec_ secret
 *
 * Prints one line once listening, logs one line per request (never tokens), and stops cleanly
 * on SIGINT/SIGTERM.
 */
import { portSetting, runUntilStopped } from '../serviceMain.js';
import { startDevServiceNow } from './instance.js';
import { DEFAULT_PORT } from './options.js';

function webhookTarget(env: NodeJS.ProcessEnv): { bridgeUrl: string; instanceId: string; secret: string } | null {
  const bridgeUrl = env.DEV_SERVICENOW_BRIDGE_URL || undefined;
  const instanceId = env.DEV_SERVICENOW_INSTANCE_ID || undefined;
  const secret = env.DEV_SERVICENOW_WEBHOOK_SECRET || undefined;
  if (!bridgeUrl && !instanceId && !secret) return null;
  if (!bridgeUrl || !instanceId || !secret) {
    throw new Error('Set DEV_SERVICENOW_BRIDGE_URL, DEV_SERVICENOW_INSTANCE_ID and DEV_SERVICENOW_WEBHOOK_SECRET together, or none of them.');
  }
  return { bridgeUrl, instanceId, secret };
}

runUntilStopped('The ServiceNow development instance', async () => {
  const target = webhookTarget(process.env);
  const instance = await startDevServiceNow({
    port: portSetting('DEV_SERVICENOW_PORT', DEFAULT_PORT),
    ...(process.env.DEV_SERVICENOW_HOST ? { host: process.env.DEV_SERVICENOW_HOST } : {}),
    log: (line) => console.log(`[servicenow] ${line}`),
  });
  instance.configureWebhook(target);
  console.log(`ServiceNow development instance listening on ${instance.url}`);
  return instance;
});
