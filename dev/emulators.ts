/**
 * `npm run emulators`: only the local stand-ins — Azurite, the Web PubSub and Key Vault emulators and
 * the development ServiceNow instance — on the ports of local.settings.json, for people who run the app
 * itself with Azure Functions Core Tools (`npm run build && func start`) instead of `npm start`.
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startAzurite } from './azurite/azurite.js';
import { loadSettings } from './host/localHost.js';
import { portSetting } from './serviceMain.js';
import { startDevServiceNow } from './servicenow/instance.js';
import { keyVaultChild, PROJECT_DIR, webPubSubChild } from './stack.js';

const settingsFile = path.join(PROJECT_DIR, 'local.settings.json');
if (!existsSync(settingsFile)) copyFileSync(path.join(PROJECT_DIR, 'local.settings.sample.json'), settingsFile);
loadSettings(PROJECT_DIR);
const stateDir = path.resolve(PROJECT_DIR, process.env.FLOWQUEST_STATE_DIR || '.flowquest');

const azurite = await startAzurite({ port: portSetting('AZURITE_TABLE_PORT', 10002), location: path.join(stateDir, 'azurite'), blobAndQueue: true });
const webPubSub = await webPubSubChild(portSetting('WEBPUBSUB_EMULATOR_PORT', 8080));
const keyVault = await keyVaultChild(portSetting('KEY_VAULT_EMULATOR_PORT', 8200), path.join(stateDir, 'keyvault.json'));
const serviceNow = await startDevServiceNow({ port: portSetting('DEV_SERVICENOW_PORT', 7072) });

console.log(
  [
    'FlowQuest Bridge — local stand-ins (the app itself is not started)',
    `  Azurite          Blob :${azurite.port - 2}, Queue :${azurite.port - 1}, Tables :${azurite.port} (AzureWebJobsStorage=UseDevelopmentStorage=true)`,
    `  Web PubSub       ${webPubSub.endpoint}`,
    `  Key Vault        ${keyVault.url}`,
    `  ServiceNow (dev) ${serviceNow.url}`,
    'Now run the app with Core Tools:  npm run build && func start',
  ].join('\n'),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([serviceNow.close(), webPubSub.close(), keyVault.close(), azurite.stop()]);
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
