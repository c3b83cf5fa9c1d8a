import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startChild } from '../childProcess.js';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function azuriteTablesConnectionString(host: string, port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};TableEndpoint=http://${host}:${port}/${AZURITE_ACCOUNT};`;
}

export interface AzuriteOptions {
  host?: string;
  port: number;
  /** Folder for Azurite's database; omitted = in memory (tests). */
  location?: string;
  /**
   * Also Blob (port − 2) and Queue (port − 1), on Azurite's usual 10000/10001 beside Tables' 10002: what
   * Core Tools' own host needs for `AzureWebJobsStorage` (timer locks). Our local host needs Tables only.
   */
  blobAndQueue?: boolean;
}

export interface Azurite {
  readonly port: number;
  readonly connectionString: string;
  stop(): Promise<void>;
}

/**
 * Starts the real Azurite Table service (the npm package) as a child process, so that it has its own
 * event loop, as it would in Docker or in VS Code. Resolves once it says it listens.
 */
export async function startAzurite(options: AzuriteOptions): Promise<Azurite> {
  const host = options.host ?? '127.0.0.1';
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('azurite/package.json'));
  const main = path.join(root, options.blobAndQueue ? 'dist/src/azurite.js' : 'dist/src/table/main.js');
  const args = ['--tableHost', host, '--tablePort', String(options.port), '--skipApiVersionCheck', '--disableTelemetry', '--silent', '--loose'];
  if (options.blobAndQueue) {
    args.push('--blobHost', host, '--blobPort', String(options.port - 2), '--queueHost', host, '--queuePort', String(options.port - 1));
  }
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  // SIGINT is Azurite's graceful stop: it closes its database, which saves it (SIGTERM would lose what
  // changed since the last 5-second autosave).
  const child = await startChild(main, args, {}, /Table service (is )?successfully (started|listening)/i, 'SIGINT');
  return { port: options.port, connectionString: azuriteTablesConnectionString(host, options.port), stop: () => child.stop() };
}
