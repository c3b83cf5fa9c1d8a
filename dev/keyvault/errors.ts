/**
 * Key Vault style errors. The service answers every failure with
 * `{ "error": { "code", "message", "innererror"? } }`; routes throw a
 * {@link KeyVaultError} and the HTTP layer renders it.
 */

export class KeyVaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
    this.name = 'KeyVaultError';
  }

  toBody(): { error: { code: string; message: string; innererror?: { code: string } } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode ? { innererror: { code: this.innerCode } } : {}),
      },
    };
  }
}

export function badParameter(message: string): KeyVaultError {
  return new KeyVaultError(400, 'BadParameter', message);
}

export function secretNotFound(name: string, version?: string): KeyVaultError {
  const id = version ? `${name}/${version}` : name;
  return new KeyVaultError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you may be able ` +
      'to recover it using the correct recovery command. For help resolving this issue, please see ' +
      'https://go.microsoft.com/fwlink/?linkid=2125182',
  );
}

export function deletedSecretNotFound(name: string): KeyVaultError {
  return new KeyVaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

export function secretDisabled(): KeyVaultError {
  return new KeyVaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
}

export function deletedButRecoverable(name: string): KeyVaultError {
  return new KeyVaultError(
    409,
    'Conflict',
    `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; ` +
      'in this state, the secret can only be recovered or purged.',
    'ObjectIsDeletedButRecoverable',
  );
}

export function purgeProtected(): KeyVaultError {
  return new KeyVaultError(
    403,
    'Forbidden',
    'Operation "purge" is not allowed because purge protection is enabled for this vault. ' +
      'Key Vault service will automatically purge it after the retention period has passed.',
  );
}
