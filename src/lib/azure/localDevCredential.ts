// TokenCredential, AccessToken and GetTokenOptions are @azure/core-auth's types, re-exported by
// @azure/identity (a declared dependency; @azure/core-auth is only transitive). Type-only import.
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/** Lifetime of the fake tokens. */
const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** Prefix that makes the fake token recognisable in any log or trace. */
export const LOCAL_DEV_TOKEN_PREFIX = 'local-dev.';

/**
 * Credential for LOCAL EMULATORS ONLY (e.g. the Key Vault emulator in `dev/keyvault`,
 * reached over a loopback `http://127.0.0.1` URL). It never contacts Microsoft Entra ID:
 * `getToken` returns a clearly fake, non-secret bearer token,
 * `local-dev.<base64url of {"scp":[...scopes],"iat":<unix s>,"exp":<unix s>}>`, valid for one hour.
 * The emulators accept any bearer token and real Azure services reject this one.
 *
 * In Azure the app uses `DefaultAzureCredential` (managed identity) instead; never wire
 * this credential to a non-loopback endpoint.
 */
export class LocalDevCredential implements TokenCredential {
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const now = Date.now();
    const expiresOnTimestamp = now + TOKEN_LIFETIME_MS;
    const claims = {
      scp: Array.isArray(scopes) ? [...scopes] : [scopes],
      iat: Math.floor(now / 1000),
      exp: Math.floor(expiresOnTimestamp / 1000),
    };
    return {
      token: `${LOCAL_DEV_TOKEN_PREFIX}${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`,
      expiresOnTimestamp,
      tokenType: 'Bearer',
    };
  }
}
