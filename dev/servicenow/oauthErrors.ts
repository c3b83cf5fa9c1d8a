/** OAuth 2.0 answers of the token and revocation endpoints: `{ error, error_description }` (RFC 6749 §5.2). */
import type { Headers } from './http.js';

export interface OAuthAnswer {
  status: number;
  body: unknown;
  headers?: Headers;
}

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'server_error'
  | 'temporarily_unavailable';

export function oauthError(status: number, error: OAuthErrorCode, description: string, headers?: Headers): OAuthAnswer {
  return { status, body: { error, error_description: description }, ...(headers ? { headers } : {}) };
}

/**
 * This instance answers a bad, expired, revoked or used code or refresh token with HTTP 401 and
 * `invalid_grant`. Real ServiceNow answers these with HTTP 401 and the unhelpful
 * `{"error_description":"access_denied","error":"server_error"}`; see README.md.
 */
export function invalidGrant(description: string): OAuthAnswer {
  return oauthError(401, 'invalid_grant', description);
}
