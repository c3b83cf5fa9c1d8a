/**
 * Checks an authorization request (`oauth_auth.do`) in the order RFC 6749 §4.1.2.1 needs: while
 * the client or the redirect URI is in doubt the error is shown on a page (never redirect to an
 * unchecked URI); after that, errors go back to the client on its redirect URI.
 */
import type { Config, DevClient } from './options.js';
import { isS256Challenge } from './pkce.js';
import { isAllowedRedirectUri, withParams } from './redirectUris.js';

/** The parameters the sign-in forms carry back to POST /oauth_auth.do. */
export const OAUTH_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method'] as const;

export interface AuthorizeRequest {
  readonly client: DevClient;
  readonly redirectUri: string;
  readonly redirectUriGiven: boolean;
  readonly state: string | undefined;
  readonly codeChallenge: string;
  /** The OAuth parameters as received, to repeat in the sign-in forms. */
  readonly carried: ReadonlyArray<readonly [string, string]>;
}

export type AuthorizeCheck =
  | { kind: 'page'; message: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'ok'; request: AuthorizeRequest };

function repeated(params: URLSearchParams, name: string): boolean {
  return params.getAll(name).length > 1;
}

export function errorRedirect(redirectUri: string, state: string | undefined, error: string, description: string): AuthorizeCheck {
  return { kind: 'redirect', location: withParams(redirectUri, { error, error_description: description, state }) };
}

export function checkAuthorizeRequest(config: Config, params: URLSearchParams): AuthorizeCheck {
  if (repeated(params, 'client_id')) return { kind: 'page', message: 'client_id is repeated.' };
  const clientId = params.get('client_id');
  if (!clientId) return { kind: 'page', message: 'client_id is missing.' };
  const client = config.clients.get(clientId);
  if (!client) return { kind: 'page', message: `No OAuth client with the id "${clientId}" is registered on this instance.` };

  if (repeated(params, 'redirect_uri')) return { kind: 'page', message: 'redirect_uri is repeated.' };
  const given = params.get('redirect_uri');
  let redirectUri: string;
  if (given) {
    if (!isAllowedRedirectUri(client, given)) {
      return { kind: 'page', message: `The redirect_uri is not registered for client "${client.clientId}": ${given}` };
    }
    redirectUri = given;
  } else if (client.redirectUris.length === 1) {
    redirectUri = client.redirectUris[0] as string;
  } else {
    return { kind: 'page', message: 'redirect_uri is missing (the client does not have exactly one registered).' };
  }

  const state = params.get('state') ?? undefined;
  const fail = (error: string, description: string): AuthorizeCheck => errorRedirect(redirectUri, state, error, description);
  for (const name of OAUTH_PARAMS) {
    if (repeated(params, name)) return fail('invalid_request', `${name} is repeated.`);
  }

  const responseType = params.get('response_type');
  if (!responseType) return fail('invalid_request', 'response_type is missing.');
  if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
  const challenge = params.get('code_challenge');
  if (!challenge) return fail('invalid_request', 'PKCE is required: code_challenge is missing.');
  // RFC 7636 §4.3 makes `plain` the default when the method is left out; this instance takes S256 only.
  if (params.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256.');
  if (!isS256Challenge(challenge)) return fail('invalid_request', 'code_challenge is not a S256 challenge (43 base64url characters).');

  const carried: Array<[string, string]> = [];
  for (const name of OAUTH_PARAMS) {
    const value = params.get(name);
    if (value !== null) carried.push([name, value]);
  }
  return {
    kind: 'ok',
    request: { client, redirectUri, redirectUriGiven: Boolean(given), state, codeChallenge: challenge, carried },
  };
}
