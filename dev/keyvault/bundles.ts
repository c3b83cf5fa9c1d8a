/**
 * Renders store records as the JSON bodies the Key Vault secrets REST API returns:
 * SecretBundle, DeletedSecretBundle, SecretItem and DeletedSecretItem. Ids are
 * `{vaultUrl}/secrets/{name}/{version}`, times are Unix seconds, and `kid`/`managed`
 * (certificate-backed secrets only) are never emitted.
 */
import {
  type DeletedSecretRecord,
  type RecoveryLevel,
  type SecretRecord,
  type SecretVersionRecord,
  RECOVERABLE_DAYS,
  latestVersion,
} from './store.js';

export interface SecretAttributesJson {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoveryLevel: RecoveryLevel;
  recoverableDays: number;
}

export interface SecretItemJson {
  id: string;
  contentType?: string;
  attributes: SecretAttributesJson;
  tags?: Record<string, string>;
}

export interface SecretBundleJson extends SecretItemJson {
  value?: string;
}

export interface DeletedSecretItemJson extends SecretItemJson {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

function attributes(version: SecretVersionRecord, recoveryLevel: RecoveryLevel): SecretAttributesJson {
  return {
    enabled: version.enabled,
    ...(version.nbf !== undefined ? { nbf: version.nbf } : {}),
    ...(version.exp !== undefined ? { exp: version.exp } : {}),
    created: version.created,
    updated: version.updated,
    recoveryLevel,
    recoverableDays: RECOVERABLE_DAYS,
  };
}

function item(id: string, version: SecretVersionRecord, recoveryLevel: RecoveryLevel): SecretItemJson {
  return {
    id,
    ...(version.contentType !== undefined ? { contentType: version.contentType } : {}),
    attributes: attributes(version, recoveryLevel),
    ...(version.tags !== undefined ? { tags: { ...version.tags } } : {}),
  };
}

function deletedFields(vaultUrl: string, record: DeletedSecretRecord) {
  return {
    recoveryId: `${vaultUrl}/deletedsecrets/${record.name}`,
    deletedDate: record.deletedDate,
    scheduledPurgeDate: record.scheduledPurgeDate,
  };
}

export const secretId = (vaultUrl: string, name: string, version?: string): string =>
  version ? `${vaultUrl}/secrets/${name}/${version}` : `${vaultUrl}/secrets/${name}`;

/** Set and get return the value; update and recover return the bundle without it. */
export function secretBundle(
  vaultUrl: string,
  secret: SecretRecord,
  version: SecretVersionRecord,
  recoveryLevel: RecoveryLevel,
  includeValue: boolean,
): SecretBundleJson {
  return {
    ...(includeValue ? { value: version.value } : {}),
    ...item(secretId(vaultUrl, secret.name, version.version), version, recoveryLevel),
  };
}

/** Delete and get-deleted: the latest version's bundle plus deletion data; never the value. */
export function deletedSecretBundle(
  vaultUrl: string,
  record: DeletedSecretRecord,
  recoveryLevel: RecoveryLevel,
): DeletedSecretItemJson {
  const latest = latestVersion(record);
  return {
    ...deletedFields(vaultUrl, record),
    ...item(secretId(vaultUrl, record.name, latest.version), latest, recoveryLevel),
  };
}

/** GET /secrets lists the base identifier (no version) of each secret. */
export function secretListItem(vaultUrl: string, secret: SecretRecord, recoveryLevel: RecoveryLevel): SecretItemJson {
  return item(secretId(vaultUrl, secret.name), latestVersion(secret), recoveryLevel);
}

export function secretVersionListItem(
  vaultUrl: string,
  secret: SecretRecord,
  version: SecretVersionRecord,
  recoveryLevel: RecoveryLevel,
): SecretItemJson {
  return item(secretId(vaultUrl, secret.name, version.version), version, recoveryLevel);
}

export function deletedSecretListItem(
  vaultUrl: string,
  record: DeletedSecretRecord,
  recoveryLevel: RecoveryLevel,
): DeletedSecretItemJson {
  return {
    ...deletedFields(vaultUrl, record),
    ...item(secretId(vaultUrl, record.name), latestVersion(record), recoveryLevel),
  };
}
