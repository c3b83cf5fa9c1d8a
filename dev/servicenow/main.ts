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
import { startDevServiceNow } from './instance.js';
import { DEFAULT_PORT } from './options.js';

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`DEV_SERVICENOW_PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

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

async function main(): Promise<void> {
  const target = webhookTarget(process.env);
  const instance = await startDevServiceNow({
    port: parsePort(process.env.DEV_SERVICENOW_PORT),
    ...(process.env.DEV_SERVICENOW_HOST ? { host: process.env.DEV_SERVICENOW_HOST } : {}),
    log: (line) => console.log(`[servicenow] ${line}`),
  });
  instance.configureWebhook(target);
  console.log(`ServiceNow development instance listening on ${instance.url}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`Received ${signal} again; exiting immediately`);
      process.exit(1);
    }
    stopping = true;
    instance.close().then(
      () => {
        process.exitCode = 0;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      },
      (error: unknown) => {
        console.error('The ServiceNow development instance failed to stop cleanly:', error instanceof Error ? error.message : error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error('The ServiceNow development instance failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
