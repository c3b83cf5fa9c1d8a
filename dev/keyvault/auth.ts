/**
 * Challenge-based authentication, as Key Vault does it: a request without a bearer
 * token gets 401 plus a `WWW-Authenticate` challenge naming the authority and the
 * resource; the SDK's keyVaultAuthenticationPolicy then fetches a token for
 * `https://vault.azure.net/.default` and re-sends the request (with its body, which
 * it strips from the first, unauthenticated attempt).
 *
 * The emulator does NOT validate tokens: any non-empty `Authorization: Bearer <token>`
 * is accepted. It is a local development tool and must never guard real data.
 * Tokens are never logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { KeyVaultError } from './errors.js';
import { sendError } from './http.js';

export const CHALLENGE_AUTHORITY = 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000';
export const CHALLENGE_RESOURCE = 'https://vault.azure.net';
export const WWW_AUTHENTICATE_CHALLENGE = `Bearer authorization="${CHALLENGE_AUTHORITY}", resource="${CHALLENGE_RESOURCE}"`;

const BEARER = /^Bearer\s+\S+/i;

export function hasBearerToken(req: IncomingMessage): boolean {
  const header = req.headers.authorization;
  return typeof header === 'string' && BEARER.test(header.trim());
}

export function sendChallenge(res: ServerResponse): void {
  sendError(res, new KeyVaultError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), {
    'www-authenticate': WWW_AUTHENTICATE_CHALLENGE,
  });
}
