import type { SecretClient } from '@azure/keyvault-secrets';
import { DependencyError } from '../core/errors.js';
import { statusOf } from '../storage/tableCall.js';

export interface SecretWrite {
  contentType?: string;
  tags?: Record<string, string>;
  expiresOn?: Date;
}

/** The slice of Key Vault the bridge uses, so that domain code does not depend on the SDK. */
export interface SecretStore {
  set(name: string, value: string, options?: SecretWrite): Promise<{ version: string }>;
  /** The latest version, or a given one; undefined when there is no such secret. */
  get(name: string, version?: string): Promise<{ value: string; version: string } | undefined>;
  /** The versions of a secret (ids only, no values). */
  listVersions(name: string): Promise<string[]>;
  /** Soft-deletes every version (the vault keeps it recoverable for its retention period). */
  delete(name: string): Promise<void>;
}

async function vaultCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 409) throw error;
    // 403 too: a firewall, RBAC or policy change must read as "Key Vault unavailable", never as
    // "this secret does not exist" (which would, say, send every session back to sign-in).
    throw new DependencyError('keyVault', operation, error);
  }
}

export function createKeyVaultSecretStore(client: SecretClient): SecretStore {
  return {
    async set(name, value, options = {}) {
      const secret = await vaultCall('set secret', () => client.setSecret(name, value, options));
      return { version: secret.properties.version ?? '' };
    },
    async get(name, version) {
      try {
        const secret = await vaultCall('get secret', () => client.getSecret(name, version ? { version } : {}));
        if (secret.value === undefined) return undefined;
        return { value: secret.value, version: secret.properties.version ?? '' };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    async listVersions(name) {
      const versions: string[] = [];
      try {
        await vaultCall('list secret versions', async () => {
          for await (const properties of client.listPropertiesOfSecretVersions(name)) {
            if (properties.version && properties.enabled !== false) versions.push(properties.version);
          }
        });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      return versions;
    },
    async delete(name) {
      try {
        // The first request of the poller is the DELETE itself; the deletion is then under way and
        // irreversible for us, so there is no need to wait for the vault to finish it.
        await vaultCall('delete secret', () => client.beginDeleteSecret(name, { intervalInMs: 250 }));
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    },
  };
}
