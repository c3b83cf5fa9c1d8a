/**
 * `npm start`: the whole local stack for a newcomer — Azurite, the Web PubSub and Key Vault emulators
 * and the local Functions host with the app — with state kept under FLOWQUEST_STATE_DIR between runs.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings } from './host/localHost.js';
import { PROJECT_DIR, startStack, type Stack } from './stack.js';
import { ensureDemoInstance } from './demoInstance.js';
import { startDevServiceNow } from './servicenow/instance.js';

function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new Error(`Setting ${name} must be a port number.`);
  return value;
}

async function main(): Promise<void> {
  const settingsFile = path.join(PROJECT_DIR, 'local.settings.json');
  if (!existsSync(settingsFile)) {
    copyFileSync(path.join(PROJECT_DIR, 'local.settings.sample.json'), settingsFile);
    console.log('Created local.settings.json from local.settings.sample.json.');
  }
  loadSettings(PROJECT_DIR); // local.settings.json "Values" under the environment (the environment wins)
  const stateDir = path.resolve(PROJECT_DIR, process.env.FLOWQUEST_STATE_DIR || '.flowquest');
  mkdirSync(stateDir, { recursive: true });

  const stack: Stack = await startStack({
    ports: {
      host: port('PORT', 7071),
      azurite: port('AZURITE_TABLE_PORT', 10002),
      webPubSub: port('WEBPUBSUB_EMULATOR_PORT', 8080),
      keyVault: port('KEY_VAULT_EMULATOR_PORT', 8200),
    },
    stateDir,
    runTimers: true,
    emulators: 'child',
  });

  const serviceNow = await startDevServiceNow({ port: port('DEV_SERVICENOW_PORT', 7072) });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack…`);
    await serviceNow.close();
    await stack.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  const demo = await ensureDemoInstance(stack, stateDir, serviceNow.url);
  serviceNow.configureWebhook({ bridgeUrl: stack.url, instanceId: demo.instanceId, secret: demo.secret });
  const functions = stack.host.functions.map((f) =>
    f.type === 'http'
      ? `  ${f.name}: [${(f.methods ?? []).join(',')}] ${stack.url}/api/${(f.route ?? f.name).replace('{area:regex(^admin$)}', 'admin')}`
      : `  ${f.name}: timer ${f.schedule ?? ''}`,
  );
  console.log(
    [
      '',
      'Functions:',
      ...functions,
      '',
      'FlowQuest Bridge — local stack',
      `  Functions host   ${stack.url}/api          function key: ${stack.functionKey}`,
      `  Live console     ${stack.url}/console/`,
      `  Azurite Tables   http://127.0.0.1:${stack.azurite.port}/devstoreaccount1`,
      `  Web PubSub       ${stack.webPubSub.endpoint}   hub: ${process.env.WEBPUBSUB_HUB || 'flowquest'}`,
      `  Key Vault        ${stack.keyVault.url}`,
      `  ServiceNow (dev) ${serviceNow.url}   demo users: ${serviceNow.users.map((u) => u.userName).join(', ')}`,
      `  State            ${path.relative(PROJECT_DIR, stateDir) || '.'}/ (kept between runs)`,
      `  Demo instance    "${demo.instanceId}"; its webhook secret is in ${path.relative(PROJECT_DIR, demo.secretFile)}`,
      `  Send an event    npm run send -- incident-p1-inserted-assigned.json`,
      '',
    ].join('\n'),
  );
  await waitForHealth(stack.url);
  console.log(`FlowQuest Bridge is ready: ${stack.url}/api/health   (Ctrl-C stops everything)`);
  writeFileSync(path.join(stateDir, 'stack.json'), JSON.stringify({ url: stack.url, functionKey: stack.functionKey }, null, 2));
}

async function waitForHealth(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.status === 200) return;
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('The local stack did not become healthy within 20 s.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
