/**
 * Client authentication at the token endpoint (RFC 6749 §2.3): `client_id` (+ `client_secret`)
 * in the form, or HTTP Basic. A public client (no secret) is identified by its id alone; a client
 * with a secret must present it.
 */
import type { IncomingMessage } from 'node:http';

import type { Config, DevClient } from './options.js';
import type { OAuthAnswer } from './oauthErrors.js';
import { oauthError } from './oauthErrors.js';
import { sameSecret } from './secrets.js';

export type ClientAuthResult = { ok: true; client: DevClient } | { ok: false; answer: OAuthAnswer };

function decodeFormComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function invalidClient(description: string, viaHeader: boolean): ClientAuthResult {
  // RFC 6749 §5.2: a client that tried the Authorization header gets a challenge back.
  const headers = viaHeader ? { 'www-authenticate': 'Basic realm="oauth"' } : undefined;
  return { ok: false, answer: oauthError(401, 'invalid_client', description, headers) };
}

export function authenticateClient(config: Config, req: IncomingMessage, params: URLSearchParams): ClientAuthResult {
  let clientId = params.get('client_id');
  let secret = params.get('client_secret');
  const header = req.headers.authorization ?? '';
  const viaHeader = /^basic\s/i.test(header);
  if (viaHeader) {
    const decoded = Buffer.from(header.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const headerId = colon < 0 ? undefined : decodeFormComponent(decoded.slice(0, colon));
    const headerSecret = colon < 0 ? undefined : decodeFormComponent(decoded.slice(colon + 1));
    if (headerId === undefined || headerSecret === undefined) return invalidClient('The Basic credentials are malformed.', true);
    if (secret !== null) {
      return { ok: false, answer: oauthError(400, 'invalid_request', 'Use one client authentication method, not two.') };
    }
    if (clientId !== null && clientId !== headerId) return invalidClient('client_id does not match the Basic credentials.', true);
    clientId = headerId;
    secret = headerSecret;
  }
  if (!clientId) return invalidClient('client_id is required.', viaHeader);
  const client = config.clients.get(clientId);
  if (!client) return invalidClient('Client authentication failed.', viaHeader);
  if (client.clientSecret !== undefined && !sameSecret(secret, client.clientSecret)) {
    return invalidClient('Client authentication failed.', viaHeader);
  }
  return { ok: true, client };
}
