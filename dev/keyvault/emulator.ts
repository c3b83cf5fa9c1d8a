/**
 * Local Azure Key Vault emulator (secrets data plane) for development and tests.
 * NEVER deployed: it accepts any bearer token and, with `dataFile`, stores secret
 * values in plain text.
 *
 * The real `SecretClient` from `@azure/keyvault-secrets` works against it unmodified:
 *
 * ```ts
 * const kv = await startKeyVaultEmulator({ port: 0 });
 * const client = new SecretClient(kv.url, new LocalDevCredential(), {
 *   allowInsecureConnection: true,
 *   disableChallengeResourceVerification: true,
 * });
 * ```
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

import { StateFile } from './persistence.js';
import { createRequestListener } from './routes.js';
import { SecretStore } from './store.js';

export interface KeyVaultEmulatorOptions {
  host?: string; // default '127.0.0.1'
  port?: number; // default 8200; 0 = ephemeral
  dataFile?: string; // when set, state is loaded from and saved (atomically: write temp + rename) to this JSON file, so state survives a restart
  purgeProtection?: boolean; // default false; when true, purge → 403 like a vault with purge protection
  log?: (line: string) => void; // request log sink; NEVER log secret values or tokens
}

export interface KeyVaultEmulator {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8200;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return DEFAULT_HOST; // reachable address for the url
  return host.includes(':') ? `[${host}]` : host;
}

export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions = {}): Promise<KeyVaultEmulator> {
  const host = options.host ?? DEFAULT_HOST;
  const requestedPort = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    throw new RangeError(`Invalid Key Vault emulator port: ${String(requestedPort)}`);
  }

  const stateFile = options.dataFile ? new StateFile(resolve(options.dataFile)) : undefined;
  const initialState = stateFile ? await stateFile.load() : undefined;
  const store = new SecretStore({
    purgeProtection: options.purgeProtection ?? false,
    ...(initialState ? { initialState } : {}),
  });

  let url = `http://${urlHost(host)}:${requestedPort}`;
  const server = createServer(
    createRequestListener({
      store,
      persist: stateFile ? () => stateFile.save(() => store.snapshot()) : () => Promise.resolve(),
      fallbackVaultUrl: () => url,
      ...(options.log ? { log: options.log } : {}),
    }),
  );

  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (error: Error): void => rejectListen(error);
    server.once('error', onError);
    server.listen(requestedPort, host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://${urlHost(host)}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolveClose, rejectClose) => {
        server.close((error) => (error ? rejectClose(error) : resolveClose()));
        // SDK clients keep connections alive; drop them so close() does not wait for their idle timeout.
        server.closeAllConnections();
      }).then(() => stateFile?.flush());
      return closing;
    },
  };
}
