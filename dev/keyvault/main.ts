/**
 * Standalone Key Vault emulator for local development.
 *
 *   KEY_VAULT_EMULATOR_PORT  listening port (default 8200)
 *   KEY_VAULT_EMULATOR_DATA  state file (default .flowquest/keyvault.json; set to an empty string for in-memory only)
 *
 * Run after a build: `node dist/dev/keyvault/main.js`. Stops cleanly on SIGINT/SIGTERM.
 */
import { portSetting, runUntilStopped } from '../serviceMain.js';
import { DEFAULT_PORT, startKeyVaultEmulator } from './emulator.js';

const DEFAULT_DATA_FILE = '.flowquest/keyvault.json';

runUntilStopped('Key Vault emulator', async () => {
  const dataFile = process.env.KEY_VAULT_EMULATOR_DATA ?? DEFAULT_DATA_FILE;
  const emulator = await startKeyVaultEmulator({
    port: portSetting('KEY_VAULT_EMULATOR_PORT', DEFAULT_PORT),
    ...(dataFile ? { dataFile } : {}),
    log: (line) => console.log(`[keyvault] ${line}`),
  });
  console.log(`Key Vault emulator listening on ${emulator.url}`);
  console.log(dataFile ? `State file: ${dataFile}` : 'State is in memory only');
  return emulator;
});
