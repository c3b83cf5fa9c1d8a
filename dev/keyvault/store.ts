/**
 * In-memory secret state of the emulated vault: versions, soft delete, recover
 * and purge. Pure domain logic; it knows nothing about HTTP or files. Names are
 * matched case-insensitively like the service; a secret keeps the spelling it
 * was first created with.
 */
import { randomBytes } from 'node:crypto';

import {
  deletedButRecoverable,
  deletedSecretNotFound,
  purgeProtected,
  secretDisabled,
  secretNotFound,
} from './errors.js';

/** Days a deleted secret stays recoverable (the service default). */
export const RECOVERABLE_DAYS = 90;
const SECONDS_PER_DAY = 86_400;

export type RecoveryLevel = 'Recoverable+Purgeable' | 'Recoverable';

/** One version of a secret. Times are Unix seconds, like the REST API. */
export interface SecretVersionRecord {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

/** A secret and all its versions, oldest first (the last one is the latest). */
export interface SecretRecord {
  name: string;
  versions: SecretVersionRecord[];
}

export interface DeletedSecretRecord extends SecretRecord {
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface SecretAttributesInput {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

export interface SetSecretInput extends SecretAttributesInput {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
}

export interface UpdateSecretInput extends SecretAttributesInput {
  contentType?: string;
  tags?: Record<string, string>;
}

export interface VaultState {
  secrets: SecretRecord[];
  deletedSecrets: DeletedSecretRecord[];
}

export interface SecretStoreOptions {
  purgeProtection?: boolean;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
  initialState?: VaultState;
}

export interface SecretVersionRef {
  secret: SecretRecord;
  version: SecretVersionRecord;
}

const keyOf = (name: string): string => name.toLowerCase();

export function latestVersion(secret: SecretRecord): SecretVersionRecord {
  const latest = secret.versions[secret.versions.length - 1];
  if (!latest) throw new Error(`secret ${secret.name} has no versions`);
  return latest;
}

function newVersionId(): string {
  return randomBytes(16).toString('hex');
}

function byName(a: SecretRecord, b: SecretRecord): number {
  const ka = keyOf(a.name);
  const kb = keyOf(b.name);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class SecretStore {
  readonly recoveryLevel: RecoveryLevel;
  private readonly purgeProtection: boolean;
  private readonly clock: () => number;
  private readonly active = new Map<string, SecretRecord>();
  private readonly deleted = new Map<string, DeletedSecretRecord>();

  constructor(options: SecretStoreOptions = {}) {
    this.purgeProtection = options.purgeProtection ?? false;
    this.recoveryLevel = this.purgeProtection ? 'Recoverable' : 'Recoverable+Purgeable';
    this.clock = options.now ?? Date.now;
    for (const secret of options.initialState?.secrets ?? []) this.active.set(keyOf(secret.name), secret);
    for (const secret of options.initialState?.deletedSecrets ?? []) this.deleted.set(keyOf(secret.name), secret);
  }

  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** PUT /secrets/{name}: adds a new version (creating the secret if needed). */
  set(name: string, input: SetSecretInput): SecretVersionRef {
    const key = keyOf(name);
    const deleted = this.deleted.get(key);
    if (deleted) throw deletedButRecoverable(deleted.name);
    const now = this.nowSeconds();
    const version: SecretVersionRecord = {
      version: newVersionId(),
      value: input.value,
      ...(input.contentType !== undefined ? { contentType: input.contentType } : {}),
      ...(input.tags !== undefined ? { tags: { ...input.tags } } : {}),
      enabled: input.enabled ?? true,
      ...(input.nbf !== undefined ? { nbf: input.nbf } : {}),
      ...(input.exp !== undefined ? { exp: input.exp } : {}),
      created: now,
      updated: now,
    };
    let secret = this.active.get(key);
    if (!secret) {
      secret = { name, versions: [] };
      this.active.set(key, secret);
    }
    secret.versions.push(version);
    return { secret, version };
  }

  /** Finds a version (latest when `version` is empty) without the disabled check. */
  private find(name: string, version?: string): SecretVersionRef {
    const secret = this.active.get(keyOf(name));
    if (!secret) throw secretNotFound(name, version || undefined);
    if (!version) return { secret, version: latestVersion(secret) };
    const wanted = version.toLowerCase();
    const found = secret.versions.find((v) => v.version === wanted);
    if (!found) throw secretNotFound(name, version);
    return { secret, version: found };
  }

  /** GET /secrets/{name}[/{version}]: a disabled version answers 403 like the service. */
  get(name: string, version?: string): SecretVersionRef {
    const ref = this.find(name, version);
    if (!ref.version.enabled) throw secretDisabled();
    return ref;
  }

  /** PATCH /secrets/{name}/{version}: fields left undefined stay unchanged; tags are replaced as a whole. */
  update(name: string, version: string, input: UpdateSecretInput): SecretVersionRef {
    const ref = this.find(name, version);
    const v = ref.version;
    if (input.contentType !== undefined) v.contentType = input.contentType;
    if (input.tags !== undefined) v.tags = { ...input.tags };
    if (input.enabled !== undefined) v.enabled = input.enabled;
    if (input.nbf !== undefined) v.nbf = input.nbf;
    if (input.exp !== undefined) v.exp = input.exp;
    v.updated = this.nowSeconds();
    return ref;
  }

  /** DELETE /secrets/{name}: soft delete of the whole secret (all versions). */
  delete(name: string): DeletedSecretRecord {
    const key = keyOf(name);
    const secret = this.active.get(key);
    if (!secret) throw secretNotFound(name);
    const now = this.nowSeconds();
    const record: DeletedSecretRecord = {
      name: secret.name,
      versions: secret.versions,
      deletedDate: now,
      scheduledPurgeDate: now + RECOVERABLE_DAYS * SECONDS_PER_DAY,
    };
    this.active.delete(key);
    this.deleted.set(key, record);
    return record;
  }

  getDeleted(name: string): DeletedSecretRecord {
    const record = this.deleted.get(keyOf(name));
    if (!record) throw deletedSecretNotFound(name);
    return record;
  }

  /** DELETE /deletedsecrets/{name}: permanent removal, refused under purge protection. */
  purge(name: string): void {
    const record = this.getDeleted(name);
    if (this.purgeProtection) throw purgeProtected();
    this.deleted.delete(keyOf(record.name));
  }

  /** POST /deletedsecrets/{name}/recover: brings every version back unchanged. */
  recover(name: string): SecretRecord {
    const record = this.getDeleted(name);
    const key = keyOf(record.name);
    const secret: SecretRecord = { name: record.name, versions: record.versions };
    this.deleted.delete(key);
    this.active.set(key, secret);
    return secret;
  }

  listSecrets(): SecretRecord[] {
    return [...this.active.values()].sort(byName);
  }

  /** Versions of an active secret, oldest first; unknown or deleted names list nothing. */
  listVersions(name: string): { secret: SecretRecord | undefined; versions: SecretVersionRecord[] } {
    const secret = this.active.get(keyOf(name));
    return { secret, versions: secret ? [...secret.versions] : [] };
  }

  listDeleted(): DeletedSecretRecord[] {
    return [...this.deleted.values()].sort(byName);
  }

  /**
   * Drops deleted secrets whose scheduled purge date has passed, as the service does
   * at the end of the retention period. Called lazily per request (no timers).
   * Returns true when something was purged.
   */
  purgeExpired(): boolean {
    const now = this.nowSeconds();
    let changed = false;
    for (const [key, record] of this.deleted) {
      if (record.scheduledPurgeDate <= now) {
        this.deleted.delete(key);
        changed = true;
      }
    }
    return changed;
  }

  /** Current state for persistence (shares the records; serialise it right away). */
  snapshot(): VaultState {
    return { secrets: this.listSecrets(), deletedSecrets: this.listDeleted() };
  }
}
