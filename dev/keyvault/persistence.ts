/**
 * Optional on-disk state. The whole vault is one JSON document, rewritten after
 * every change by writing a temporary file in the same directory, fsync-ing it and
 * renaming it over the target, so a crash never leaves a half-written file. Writes
 * are serialised; each one snapshots the state current when it runs.
 *
 * The file holds secret values in plain text (mode 0600 where the OS supports it):
 * it is for local development data only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { DeletedSecretRecord, SecretRecord, SecretVersionRecord, VaultState } from './store.js';

const FORMAT_KIND = 'flowquest-keyvault-emulator';
const FORMAT_VERSION = 1;

interface StateFileJson {
  kind: typeof FORMAT_KIND;
  formatVersion: typeof FORMAT_VERSION;
  savedAt: string;
  secrets: SecretRecord[];
  deletedSecrets: DeletedSecretRecord[];
}

export class StateFileError extends Error {
  constructor(file: string, problem: string) {
    super(`Key Vault emulator data file ${file} ${problem}`);
    this.name = 'StateFileError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const optional = (v: unknown, check: (x: unknown) => boolean): boolean => v === undefined || check(v);
const isStringMap = (v: unknown): boolean => isObj(v) && Object.values(v).every((x) => typeof x === 'string');

function isVersion(v: unknown): v is SecretVersionRecord {
  return (
    isObj(v) &&
    typeof v.version === 'string' &&
    typeof v.value === 'string' &&
    typeof v.enabled === 'boolean' &&
    isInt(v.created) &&
    isInt(v.updated) &&
    optional(v.contentType, (x) => typeof x === 'string') &&
    optional(v.tags, isStringMap) &&
    optional(v.nbf, isInt) &&
    optional(v.exp, isInt)
  );
}

function isSecret(v: unknown): v is SecretRecord {
  return isObj(v) && typeof v.name === 'string' && Array.isArray(v.versions) && v.versions.length > 0 && v.versions.every(isVersion);
}

function isDeletedSecret(v: unknown): v is DeletedSecretRecord {
  return isSecret(v) && isInt((v as unknown as Obj).deletedDate) && isInt((v as unknown as Obj).scheduledPurgeDate);
}

export class StateFile {
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** The saved state, or `undefined` when the file does not exist yet. Corrupt files are an error, never overwritten. */
  async load(): Promise<VaultState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new StateFileError(this.path, 'is not valid JSON; fix or remove it.');
    }
    if (!isObj(parsed) || parsed.kind !== FORMAT_KIND || parsed.formatVersion !== FORMAT_VERSION) {
      throw new StateFileError(this.path, `is not a ${FORMAT_KIND} file (format ${FORMAT_VERSION}).`);
    }
    const { secrets, deletedSecrets } = parsed;
    if (!Array.isArray(secrets) || !secrets.every(isSecret) || !Array.isArray(deletedSecrets) || !deletedSecrets.every(isDeletedSecret)) {
      throw new StateFileError(this.path, 'has an unexpected structure; fix or remove it.');
    }
    return { secrets, deletedSecrets };
  }

  /** Queues an atomic write of `snapshot()` (taken when the write starts). Rejects if that write fails. */
  save(snapshot: () => VaultState): Promise<void> {
    const run = this.queue.then(() => this.write(snapshot()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every queued write has finished. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async write(state: VaultState): Promise<void> {
    const doc: StateFileJson = {
      kind: FORMAT_KIND,
      formatVersion: FORMAT_VERSION,
      savedAt: new Date().toISOString(),
      secrets: state.secrets,
      deletedSecrets: state.deletedSecrets,
    };
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(json, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}
