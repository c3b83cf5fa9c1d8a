/**
 * Standalone Key Vault emulator for local development.
 *
 *   KEY_VAULT_EMULATOR_PORT  listening port (default 8200)
 *   KEY_VAULT_EMULATOR_DATA  state file (default .flowquest/keyvault.json; set to an empty string for in-memory only)
 *
 * Run after a build: `node dist/dev/keyvault/main.js`. Stops cleanly on SIGINT/SIGTERM.
 */
import { DEFAULT_PORT, startKeyVaultEmulator } from './emulator.js';

const DEFAULT_DATA_FILE = '.flowquest/keyvault.json';

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`KEY_VAULT_EMULATOR_PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

async function main(): Promise<void> {
  const port = parsePort(process.env.KEY_VAULT_EMULATOR_PORT);
  const dataFile = process.env.KEY_VAULT_EMULATOR_DATA ?? DEFAULT_DATA_FILE;
  const emulator = await startKeyVaultEmulator({
    port,
    ...(dataFile ? { dataFile } : {}),
    log: (line) => console.log(`[keyvault] ${line}`),
  });
  console.log(`Key Vault emulator listening on ${emulator.url}`);
  console.log(dataFile ? `State file: ${dataFile}` : 'State is in memory only');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`Received ${signal} again; exiting immediately`);
      process.exit(1);
    }
    stopping = true;
    console.log(`Received ${signal}; stopping Key Vault emulator`);
    emulator.close().then(
      () => {
        process.exitCode = 0;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      },
      (error: unknown) => {
        console.error('Key Vault emulator failed to stop cleanly:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error('Key Vault emulator failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
